#include "control/model/resources.h"

namespace tierwall::ctl::model {

const char* ActionName(Action a) {
  switch (a) {
    case Action::kAllow: return "Allow";
    case Action::kDeny: return "Deny";
    case Action::kPass: return "Pass";
    case Action::kLog: return "Log";
  }
  return "?";
}

}  // namespace tierwall::ctl::model
