// twctl subcommands. Each Register* adds its subcommands to the app and runs
// them through callbacks that set the process exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace tierwall::ctl::twctl {

// `twctl trace`: offline with -f PATH..., live against tierwalld otherwise.
void RegisterTrace(CLI::App& app, int* exit_code);

// apply, create, replace, delete, get, history, diff, rollback, stage,
// enforce, audit verify (resource_commands.cc).
void RegisterResourceCommands(CLI::App& app, int* exit_code);

// counters, flows, graph, why (observe_commands.cc).
void RegisterObserveCommands(CLI::App& app, int* exit_code);

// validate -f FILE|DIR|- [--remote] (validate_command.cc).
void RegisterValidate(CLI::App& app, int* exit_code);

}  // namespace tierwall::ctl::twctl
