// Process signal handling for the long-running commands: SIGTERM/SIGINT request a clean stop,
// SIGHUP a reload; SIGPIPE is ignored (a peer closing a socket is an error value, not a death).
#pragma once

namespace crmhost {

// Call before starting any thread, so every thread inherits the blocked mask.
void block_termination_signals();
// Blocks the caller until SIGTERM, SIGINT or SIGHUP arrives. Returns the signal number.
int wait_for_signal();
// Blocks the caller until SIGTERM or SIGINT arrives (SIGHUP is ignored). Returns the number.
int wait_for_termination_signal();

}  // namespace crmhost
