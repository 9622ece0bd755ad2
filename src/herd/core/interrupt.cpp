#include "herd/core/interrupt.hpp"

#include <csignal>

namespace herd {
namespace {

volatile std::sig_atomic_t requested = 0;

extern "C" void on_interrupt(int signal) {
  if (requested != 0) {  // the second one: end now, with the signal's own disposition
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  requested = signal;
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking reads and waits resume instead of failing
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int interrupt_signal() {
  return requested;
}

void set_interrupt_signal(int signal) {
  requested = signal;
}

}  // namespace herd
