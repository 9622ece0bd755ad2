#include "herd/comm/fiber_stacks.hpp"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "herd/core/error.hpp"

namespace herd::comm {

namespace {
std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}
}  // namespace

// Each slot: a guard page (PROT_NONE), then the usable stack from bottom() to top(), then
// the high canary in the last 64 bytes of the slot's pages.
StackArena::StackArena(std::size_t slots, std::size_t bytes)
    : slots_(slots), page_(std::size_t(::sysconf(_SC_PAGESIZE))) {
  const std::size_t span = round_up(std::max<std::size_t>(bytes, 4 * margin) + 64, page_);
  usable_ = span - 64;
  stride_ = page_ + span;
  length_ = stride_ * slots_;
  void* p = ::mmap(nullptr, length_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED)
    throw InvalidInput(fmt::format(
        "the simulator could not map {} fibre stacks of {} KiB ({:.1f} GB of address space): "
        "{}",
        slots_, usable_ / 1024, double(length_) / 1e9, std::strerror(errno)));
  base_ = static_cast<char*>(p);
  for (std::size_t s = 0; s < slots_; ++s) {
    if (::mprotect(base_ + s * stride_, page_, PROT_NONE) != 0) {
      const int err = errno;
      ::munmap(base_, length_);
      throw InvalidInput(fmt::format(
          "the simulator could not protect the guard page of fibre stack {} of {}: {} (each "
          "guard page takes a memory mapping; the kernel allows vm.max_map_count of them)",
          s + 1, slots_, std::strerror(err)));
    }
    std::fill(low_canary(s).begin(), low_canary(s).end(), canary);
    std::fill(high_canary(s).begin(), high_canary(s).end(), canary);
  }
}

StackArena::~StackArena() {
  if (base_ != nullptr) ::munmap(base_, length_);
}

}  // namespace herd::comm
