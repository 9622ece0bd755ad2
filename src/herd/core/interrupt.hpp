#pragma once
// Ctrl-C and `kill`: SIGINT and SIGTERM ask a run to stop; the monitor ends it at its next
// evaluation, a decision every rank learns (so collectives stay matched), the run writes its
// checkpoint and summary ("interrupted") and `herd` exits with 128 + the signal. A second
// signal ends the process at once, as if no handler were installed.
#include <stdexcept>
#include <string>

namespace herd {

// A command made of many runs (sweep, tune, reproduce) that a signal stopped between runs:
// the runs that finished are kept, and the same command continues from them. Not an Error:
// the CLI ends with 128 + the signal, as for one interrupted run.
class Interrupted : public std::runtime_error {
 public:
  Interrupted(int signal, const std::string& message)
      : std::runtime_error(message), signal_(signal) {}
  int signal() const noexcept { return signal_; }

 private:
  int signal_;
};

// Installs the handlers (idempotent). Only commands that run jobs install them.
void install_interrupt_handlers();
// The signal that asked to stop (SIGINT or SIGTERM), or 0.
int interrupt_signal();
// For tests: as if `signal` had arrived (0 clears it).
void set_interrupt_signal(int signal);

}  // namespace herd
