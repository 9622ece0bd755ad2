#pragma once
// Switches between user-space contexts (Boost.Context's fcontext, used by the simulator and
// by the threads runtime's fibre pool) told to the sanitizers, which do not see them
// otherwise. No-ops in other builds.
//
// AddressSanitizer must be told about every switch between a scheduler's stack and a
// fibre's, or an exception thrown on a fibre looks like a stack overflow to it.
// ThreadSanitizer needs a context of its own for each fibre and a switch to it before every
// jump; a switch also orders everything before it before everything after it, as the
// handover of one OS thread does.
#include <boost/context/detail/fcontext.hpp>

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace herd::comm::fiber {

namespace fctx = boost::context::detail;

struct StackExtent {
  const void* bottom = nullptr;
  std::size_t size = 0;
};

// Before jumping to the stack `to`.
inline void leaving_stack(void** fake, const StackExtent& to) {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_start_switch_fiber(fake, to.bottom, to.size);
#else
  (void)fake, (void)to;
#endif
}
// First thing after arriving; `from` learns the extent of the stack left (null: not needed).
inline void arrived_on_stack(void* fake, StackExtent* from) {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_finish_switch_fiber(fake, from ? &from->bottom : nullptr,
                                  from ? &from->size : nullptr);
#else
  (void)fake, (void)from;
#endif
}

// ThreadSanitizer's context of the calling OS thread, of a new fibre, and the switch to one
// (immediately before the jump).
inline void* race_context_of_thread() {
#if defined(__SANITIZE_THREAD__)
  return __tsan_get_current_fiber();
#else
  return nullptr;
#endif
}
inline void* new_race_context() {
#if defined(__SANITIZE_THREAD__)
  return __tsan_create_fiber(0);
#else
  return nullptr;
#endif
}
inline void destroy_race_context(void* context) {
#if defined(__SANITIZE_THREAD__)
  if (context != nullptr) __tsan_destroy_fiber(context);
#else
  (void)context;
#endif
}
inline void switching_race_context(void* to) {
#if defined(__SANITIZE_THREAD__)
  __tsan_switch_to_fiber(to, 0);
#else
  (void)to;
#endif
}

}  // namespace herd::comm::fiber
