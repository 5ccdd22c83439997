// File: cli.h
// The `consentry` command line: subcommands, --help everywhere, --json on
// every admin command. Exit codes: 0 success, 1 operation failed, 2 usage
// or configuration error.
#pragma once

namespace cs {

// Runs the command line and returns the process exit code.
int RunCli(int argc, char** argv);

}  // namespace cs
