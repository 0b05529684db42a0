// twctl subcommands. Each Register* adds its subcommand to the app and runs it
// through a callback that sets the process exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace tierwall::ctl::twctl {

// `twctl trace -f PATH... --src IP[:PORT] --dst IP[:PORT] --proto P`: offline,
// no daemon needed.
void RegisterTrace(CLI::App& app, int* exit_code);

// apply, get, history, diff against tierwalld's API.
void RegisterApiCommands(CLI::App& app, int* exit_code);

}  // namespace tierwall::ctl::twctl
