#pragma once
// LeakSanitizer around the leaks of a library's error path that a test provokes on purpose
// (tools/lsan.supp says which and why). Both do nothing outside AddressSanitizer builds.
#include <stdlib.h>

#include <string>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace herd::test {

// Allocations made while it lives are not reported as leaks (in this process).
struct LeaksIgnored {
#if defined(__SANITIZE_ADDRESS__)
  LeaksIgnored() {
    __lsan_disable();
  }
  ~LeaksIgnored() {
    __lsan_enable();
  }
#else
  LeaksIgnored() {}  // user-provided, so that a guard variable is not "unused"
  ~LeaksIgnored() {}
#endif
  LeaksIgnored(const LeaksIgnored&) = delete;
  LeaksIgnored& operator=(const LeaksIgnored&) = delete;
};

// The processes started while it lives unwind every allocation's stack in full, so that a
// suppression can name a frame inside a library built without frame pointers (slow: only
// around the one command that needs it).
class FullStacksInChildren {
 public:
  FullStacksInChildren() {
    if (const char* options = ::getenv("LSAN_OPTIONS")) {
      before_ = options;
      had_ = true;
      ::setenv("LSAN_OPTIONS", (before_ + ":fast_unwind_on_malloc=0").c_str(), 1);
    }
  }
  ~FullStacksInChildren() {
    if (had_) ::setenv("LSAN_OPTIONS", before_.c_str(), 1);
  }
  FullStacksInChildren(const FullStacksInChildren&) = delete;
  FullStacksInChildren& operator=(const FullStacksInChildren&) = delete;

 private:
  std::string before_;
  bool had_ = false;
};

}  // namespace herd::test
