#include "herd/core/interrupt.hpp"

#include <atomic>
#include <csignal>

namespace herd {
namespace {

// Written by the signal handler on whichever thread takes the signal, read by every rank's
// thread at its evaluations: a lock-free atomic, which is both signal-safe and free of data
// races between threads (a volatile sig_atomic_t is only the former; ThreadSanitizer
// reported it on the threads runtime).
std::atomic<int> requested{0};
static_assert(std::atomic<int>::is_always_lock_free);

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
