// SlabArena: the allocator behind one LruCache shard. Small blocks addressed by
// 32-bit handles instead of 64-bit pointers, with no per-block header, so an
// entry's links and its table slot cost half what malloc'd pointers would.
//
// NOT thread-safe: the owning shard's mutex guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace geocache::detail {

class SlabArena {
 public:
  static constexpr uint32_t kNil = UINT32_MAX;
  // Blocks up to this size come from slab pages; larger ones from malloc.
  static constexpr size_t kMaxSmall = 4096;

  SlabArena() = default;
  ~SlabArena();
  SlabArena(const SlabArena&) = delete;
  SlabArena& operator=(const SlabArena&) = delete;

  // A block of at least `bytes` bytes (8-byte aligned). Throws std::bad_alloc.
  uint32_t allocate(size_t bytes);
  // REQUIRES: h came from allocate(bytes) with the same bytes.
  void release(uint32_t h, size_t bytes);
  // The block's memory. REQUIRES: h is allocated.
  char* at(uint32_t h) const {
    if (h & kLargeBit) return large_[h & ~kLargeBit];
    return pages_[h >> kOffsetBits] + (static_cast<size_t>(h & kOffsetMask) << kUnitShift);
  }
  // Bytes a block of `bytes` really occupies (its size class).
  static size_t block_size(size_t bytes);
  // Bytes taken from the system: slab pages plus large blocks.
  size_t footprint() const { return footprint_; }

 private:
  static constexpr uint32_t kLargeBit = 0x80000000u;
  static constexpr int kUnitShift = 3;     // 8-byte units
  static constexpr int kOffsetBits = 12;   // 4096 units = 32 KiB per page
  static constexpr uint32_t kOffsetMask = (1u << kOffsetBits) - 1;
  static constexpr size_t kPageBytes = size_t{1} << (kOffsetBits + kUnitShift);
  static constexpr uint32_t kMaxPages = kLargeBit >> kOffsetBits;

  struct Page {
    uint16_t size_class = 0;
    uint16_t live = 0;          // blocks handed out
    uint32_t free_head = kNil;  // handle of the first free block in this page
    uint32_t bump = 0;          // units never handed out start here
    uint32_t prev = kNil, next = kNil;  // in its class's list of pages with room
  };
  struct SizeClass {
    uint32_t pages_with_room = kNil;  // head of a doubly linked list of page ids
  };

  static int class_of(size_t bytes);
  static size_t class_bytes(int size_class);
  uint32_t new_page(int size_class);
  void unlink_page(uint32_t page);
  void push_page(uint32_t page);
  bool page_has_room(const Page& p) const;

  std::vector<char*> pages_;
  std::vector<Page> page_info_;
  std::vector<uint32_t> empty_pages_;  // whole pages free for any class
  std::vector<SizeClass> classes_ = std::vector<SizeClass>(64);
  std::vector<char*> large_;
  std::vector<uint32_t> free_large_;
  size_t footprint_ = 0;
};

}  // namespace geocache::detail
