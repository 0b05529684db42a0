// twctl: the Tierwall command-line client (in the spirit of calicoctl and
// hubble observe). Exit codes: 0 success, 1 runtime error, 2 bad usage or input.
#include <CLI/CLI.hpp>

#include "control/twctl/commands.h"
#include "control/twctl/output.h"

int main(int argc, char** argv) {
  // Before anything is printed: server and file text may hold escape codes.
  tierwall::ctl::twctl::EscapeTerminalOutput();
  CLI::App app{"twctl: inspect and manage Tierwall policy"};
  app.require_subcommand(1);
  int exit_code = 0;
  tierwall::ctl::twctl::RegisterTrace(app, &exit_code);
  tierwall::ctl::twctl::RegisterResourceCommands(app, &exit_code);
  tierwall::ctl::twctl::RegisterObserveCommands(app, &exit_code);
  tierwall::ctl::twctl::RegisterValidate(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
