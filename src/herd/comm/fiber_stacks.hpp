#pragma once
// The run stacks of the simulator's fibres (sim.cpp): one anonymous mapping carved into
// `slots` stacks, each above a guard page, with canary words at both ends.
//
// A fibre does not own a mapping: with more simulated processes than slots, processes share
// a slot, and the scheduler copies the used part of a suspended process's stack (from its
// saved stack pointer to the top: 560 bytes for a parameter-server worker waiting for
// its model) to the heap when another process needs the slot, and back before the process
// runs again, at the same address (its frames hold pointers into themselves). So the
// number of memory mappings is fixed (2 per slot: the kernel's vm.max_map_count, 65,530 by
// default, allowed only about 32,700 fibres with a mapping and a guard page each), and an
// idle process costs the bytes its frames really use, not a page or more of stack.
//
// Overflow: the guard page below each slot faults (SIGSEGV) on a write past the end; and at
// every switch out of a process the scheduler checks that its stack pointer stayed at
// least `margin` bytes above the bottom and that the canaries at its slot's bottom and at
// the top of the slot below it are intact (a frame larger than a page can jump the guard).
// A failed check ends the process with a message (abort), never silent corruption.
#include <cstddef>
#include <cstdint>
#include <span>

namespace herd::comm {

class StackArena {
 public:
  static constexpr std::size_t margin = 4096;  // bytes a suspended stack keeps free
  // `slots` stacks of at least `bytes` usable bytes each (rounded up to whole pages).
  // Throws InvalidInput saying what could not be mapped.
  StackArena(std::size_t slots, std::size_t bytes);
  ~StackArena();
  StackArena(const StackArena&) = delete;
  StackArena& operator=(const StackArena&) = delete;

  std::size_t slots() const { return slots_; }
  // Usable bytes of one stack, between bottom() and top().
  std::size_t stack_bytes() const { return usable_; }
  // Where a stack starts (it grows down from here; 64-byte aligned).
  char* top(std::size_t slot) const { return bottom(slot) + usable_; }
  // The lowest usable byte of a stack.
  char* bottom(std::size_t slot) const { return base_ + slot * stride_ + page_; }
  // Whether a process suspended at `sp` on `slot` kept within its stack: sp at least
  // `margin` above the bottom and the canaries of this slot and the one below intact.
  bool intact(std::size_t slot, const void* sp) const {
    const char* at = static_cast<const char*>(sp);
    if (at < bottom(slot) + margin || at > top(slot)) return false;
    return whole(low_canary(slot)) && (slot == 0 || whole(high_canary(slot - 1)));
  }
  // Memory mappings the arena takes (the kernel limits them: vm.max_map_count).
  static std::size_t mappings(std::size_t slots) { return 2 * slots; }

 private:
  static constexpr std::uint64_t canary = 0x68657264'5f737461ULL;  // "herd_sta"
  static constexpr std::size_t canary_words = 4;
  std::span<std::uint64_t> low_canary(std::size_t slot) const {
    return {reinterpret_cast<std::uint64_t*>(bottom(slot)), canary_words};
  }
  std::span<std::uint64_t> high_canary(std::size_t slot) const {
    return {reinterpret_cast<std::uint64_t*>(top(slot)), canary_words};
  }
  static bool whole(std::span<const std::uint64_t> words) {
    bool all = true;
    for (std::uint64_t w : words) all &= w == canary;
    return all;
  }

  std::size_t slots_ = 0, usable_ = 0, page_ = 0, stride_ = 0, length_ = 0;
  char* base_ = nullptr;
};

}  // namespace herd::comm
