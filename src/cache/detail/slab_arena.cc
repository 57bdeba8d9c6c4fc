// Size classes: 8-byte steps up to 256 bytes (the common case: small keys and
// values pay at most 7 bytes of rounding), then eight classes per doubling up
// to 4 KiB (at most 12.5% rounding). 64 classes in all.
//
// Each 32 KiB page serves one class. A page with free blocks sits on its
// class's list; a page whose blocks are all free goes back to the shard's pool
// of empty pages and can serve any class next, so memory freed in one size
// class is not lost to the others once whole pages empty out (memcached's
// slab calcification, bounded this way without moving live entries).
#include "cache/detail/slab_arena.h"

#include <bit>
#include <cassert>
#include <cstdlib>
#include <new>

namespace geocache::detail {

int SlabArena::class_of(size_t bytes) {
  assert(bytes >= 1 && bytes <= kMaxSmall);
  if (bytes <= 256) return static_cast<int>((bytes + 7) / 8) - 1;  // classes 0..31
  // 256 < bytes <= 4096: group g covers (256 << g, 512 << g], eight steps each.
  const size_t high = std::bit_floor(bytes - 1);  // 256, 512, 1024 or 2048
  const int group = std::countr_zero(high) - 8;
  const size_t step = high / 8;
  const int index = static_cast<int>((bytes - high + step - 1) / step) - 1;  // 0..7
  return 32 + group * 8 + index;
}

size_t SlabArena::class_bytes(int c) {
  if (c < 32) return static_cast<size_t>(c + 1) * 8;
  const int group = (c - 32) / 8, index = (c - 32) % 8;
  const size_t high = size_t{256} << group;
  return high + (index + 1) * (high / 8);
}

size_t SlabArena::block_size(size_t bytes) {
  if (bytes > kMaxSmall) return bytes;
  return class_bytes(class_of(bytes));
}

SlabArena::~SlabArena() {
  for (char* p : pages_) std::free(p);
  for (char* p : large_) std::free(p);
}

bool SlabArena::page_has_room(const Page& p) const {
  return p.free_head != kNil || (p.bump + class_bytes(p.size_class) / 8) <= (kPageBytes >> kUnitShift);
}

void SlabArena::unlink_page(uint32_t id) {
  Page& p = page_info_[id];
  if (p.prev != kNil) page_info_[p.prev].next = p.next;
  else classes_[p.size_class].pages_with_room = p.next;
  if (p.next != kNil) page_info_[p.next].prev = p.prev;
  p.prev = p.next = kNil;
}

void SlabArena::push_page(uint32_t id) {
  Page& p = page_info_[id];
  SizeClass& c = classes_[p.size_class];
  p.prev = kNil;
  p.next = c.pages_with_room;
  if (c.pages_with_room != kNil) page_info_[c.pages_with_room].prev = id;
  c.pages_with_room = id;
}

uint32_t SlabArena::new_page(int size_class) {
  uint32_t id;
  if (!empty_pages_.empty()) {
    id = empty_pages_.back();
    empty_pages_.pop_back();
  } else {
    if (pages_.size() >= kMaxPages) throw std::bad_alloc();
    char* mem = static_cast<char*>(std::aligned_alloc(64, kPageBytes));
    if (mem == nullptr) throw std::bad_alloc();
    id = static_cast<uint32_t>(pages_.size());
    pages_.push_back(mem);
    page_info_.emplace_back();
    footprint_ += kPageBytes;
  }
  page_info_[id] = Page{};
  page_info_[id].size_class = static_cast<uint16_t>(size_class);
  push_page(id);
  return id;
}

uint32_t SlabArena::allocate(size_t bytes) {
  if (bytes > kMaxSmall) {
    char* mem = static_cast<char*>(std::malloc(bytes));
    if (mem == nullptr) throw std::bad_alloc();
    footprint_ += bytes;
    uint32_t index;
    if (!free_large_.empty()) {
      index = free_large_.back();
      free_large_.pop_back();
      large_[index] = mem;
    } else {
      if (large_.size() >= kLargeBit - 1) throw std::bad_alloc();
      index = static_cast<uint32_t>(large_.size());
      large_.push_back(mem);
    }
    return index | kLargeBit;
  }
  const int c = class_of(bytes);
  uint32_t id = classes_[c].pages_with_room;
  if (id == kNil) id = new_page(c);
  Page& p = page_info_[id];
  uint32_t h;
  if (p.free_head != kNil) {
    h = p.free_head;
    p.free_head = *reinterpret_cast<uint32_t*>(at(h));
  } else {
    h = (id << kOffsetBits) | p.bump;
    p.bump += static_cast<uint32_t>(class_bytes(c) / 8);
  }
  ++p.live;
  if (!page_has_room(p)) unlink_page(id);
  return h;
}

void SlabArena::release(uint32_t h, size_t bytes) {
  if (h & kLargeBit) {
    const uint32_t index = h & ~kLargeBit;
    std::free(large_[index]);
    large_[index] = nullptr;
    free_large_.push_back(index);
    footprint_ -= bytes;
    return;
  }
  const uint32_t id = h >> kOffsetBits;
  Page& p = page_info_[id];
  assert(p.size_class == class_of(bytes));
  const bool had_room = page_has_room(p);
  *reinterpret_cast<uint32_t*>(at(h)) = p.free_head;
  p.free_head = h;
  --p.live;
  if (p.live == 0) {
    // Whole page free: give it back to every class.
    if (had_room) unlink_page(id);
    p.free_head = kNil;
    p.bump = 0;
    empty_pages_.push_back(id);
  } else if (!had_room) {
    push_page(id);
  }
}

}  // namespace geocache::detail
