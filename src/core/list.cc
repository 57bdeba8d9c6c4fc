#include "core/list.h"

#include <algorithm>
#include <deque>

#include "core/varint.h"

namespace geocache {
namespace {

constexpr size_t kPrevBytes = 12;  // fixed64 hlc, fixed32 region

// Reads one length-prefixed element off *in. REQUIRES: validated bytes.
std::string_view next_element(std::string_view* in) {
  std::string_view e;
  get_length_prefixed(in, &e);
  return e;
}

bool get_elements(std::string_view* in, std::vector<std::string_view>* out) {
  uint64_t n;
  // Each element takes at least its length byte: a count beyond what is left is a lie.
  if (!get_varint(in, &n) || n > in->size()) return false;
  out->clear();
  out->reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view e;
    if (!get_length_prefixed(in, &e)) return false;
    out->push_back(e);
  }
  return true;
}

void put_elements(std::string* out, const std::vector<std::string_view>& elements) {
  put_varint(out, elements.size());
  for (std::string_view e : elements) put_length_prefixed(out, e);
}

// One decoded op; views into the op bytes.
struct Op {
  ListOps::Code code{};
  uint64_t a = 0, b = 0;  // counts, indexes, offset; kInsert: a = after
  int64_t count = 0;      // kRemove
  std::string_view pivot, value;
  std::vector<std::string_view> elements;
};

bool decode_op(std::string_view* in, Op* op) {
  if (in->empty()) return false;
  const uint8_t code = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  op->code = static_cast<ListOps::Code>(code);
  switch (op->code) {
    case ListOps::Code::kPushHead:
    case ListOps::Code::kPushTail: return get_elements(in, &op->elements);
    case ListOps::Code::kPopHead:
    case ListOps::Code::kPopTail: return get_varint(in, &op->a);
    case ListOps::Code::kSet: return get_varint(in, &op->a) && get_length_prefixed(in, &op->value);
    case ListOps::Code::kTrim: return get_varint(in, &op->a) && get_varint(in, &op->b);
    case ListOps::Code::kRemove: {
      uint64_t c;
      if (!get_fixed64(in, &c)) return false;
      op->count = static_cast<int64_t>(c);
      return get_length_prefixed(in, &op->value);
    }
    case ListOps::Code::kInsert:
      return get_varint(in, &op->a) && op->a <= 1 && get_length_prefixed(in, &op->pivot) &&
             get_length_prefixed(in, &op->value);
    case ListOps::Code::kAppendAt: return get_varint(in, &op->a) && get_elements(in, &op->elements);
  }
  return false;
}

// The ops after the prev, decoded. False if malformed.
bool decode_ops(std::string_view bytes, std::vector<Op>* ops) {
  if (bytes.size() < kPrevBytes) return false;
  bytes.remove_prefix(kPrevBytes);
  uint64_t n;
  if (!get_varint(&bytes, &n) || n > bytes.size()) return false;
  ops->resize(n);
  for (Op& op : *ops) {
    if (!decode_op(&bytes, &op)) return false;
  }
  return bytes.empty();
}

void apply_op(const Op& op, std::deque<std::string_view>* list) {
  const uint64_t size = list->size();
  switch (op.code) {
    case ListOps::Code::kPushHead: list->insert(list->begin(), op.elements.begin(), op.elements.end()); return;
    case ListOps::Code::kPushTail:
    case ListOps::Code::kAppendAt: list->insert(list->end(), op.elements.begin(), op.elements.end()); return;
    case ListOps::Code::kPopHead: list->erase(list->begin(), list->begin() + std::min(op.a, size)); return;
    case ListOps::Code::kPopTail: list->erase(list->end() - std::min(op.a, size), list->end()); return;
    case ListOps::Code::kSet:
      if (op.a < size) (*list)[op.a] = op.value;
      return;
    case ListOps::Code::kTrim: {
      const uint64_t start = std::min(op.a, size);
      const uint64_t end = start + std::min(op.b, size - start);
      list->erase(list->begin() + end, list->end());
      list->erase(list->begin(), list->begin() + start);
      return;
    }
    case ListOps::Code::kRemove: {
      // As LREM: count > 0 from the head, < 0 from the tail, 0 all.
      uint64_t left = op.count == 0   ? UINT64_MAX
                      : op.count > 0  ? static_cast<uint64_t>(op.count)
                                      : uint64_t{0} - static_cast<uint64_t>(op.count);  // |INT64_MIN| too
      std::deque<std::string_view> kept;
      if (op.count >= 0) {
        for (std::string_view e : *list) {
          if (left > 0 && e == op.value) {
            --left;
            continue;
          }
          kept.push_back(e);
        }
      } else {
        for (auto it = list->rbegin(); it != list->rend(); ++it) {
          if (left > 0 && *it == op.value) {
            --left;
            continue;
          }
          kept.push_front(*it);
        }
      }
      *list = std::move(kept);
      return;
    }
    case ListOps::Code::kInsert: {
      auto it = std::find(list->begin(), list->end(), op.pivot);
      if (it == list->end()) return;
      list->insert(op.a != 0 ? it + 1 : it, op.value);
      return;
    }
  }
}

}  // namespace

ListView::ListView(std::string_view bytes) {
  uint32_t n = 0;
  get_fixed32(&bytes, &n);
  size_ = n;
  elements_ = bytes;
}

std::vector<std::string_view> ListView::range(size_t start, size_t end) const {
  std::vector<std::string_view> out;
  end = std::min(end, size_);
  if (start >= end) return out;
  out.reserve(end - start);
  std::string_view in = elements_;
  for (size_t i = 0; i < end; ++i) {
    std::string_view e = next_element(&in);
    if (i >= start) out.push_back(e);
  }
  return out;
}

std::string_view ListView::at(size_t index) const {
  std::string_view in = elements_;
  for (size_t i = 0; i < index; ++i) next_element(&in);
  return next_element(&in);
}

Status validate_list(std::string_view bytes) {
  uint32_t n;
  if (!get_fixed32(&bytes, &n)) return Status::Corruption("list: truncated count");
  if (n > bytes.size()) return Status::Corruption("list: count beyond its bytes");
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view e;
    if (!get_length_prefixed(&bytes, &e)) return Status::Corruption("list: truncated element");
  }
  if (!bytes.empty()) return Status::Corruption("list: trailing bytes");
  return Status::Ok();
}

std::string encode_list(const std::vector<std::string_view>& elements) {
  size_t total = 4;
  for (std::string_view e : elements) total += varint_length(e.size()) + e.size();
  std::string out;
  out.reserve(total);
  put_fixed32(&out, static_cast<uint32_t>(elements.size()));
  for (std::string_view e : elements) put_length_prefixed(&out, e);
  return out;
}

void ListOps::push_head(const std::vector<std::string_view>& elements) {
  ops_.push_back(static_cast<char>(Code::kPushHead));
  put_elements(&ops_, elements);
  ++count_;
}

void ListOps::push_tail(const std::vector<std::string_view>& elements) {
  ops_.push_back(static_cast<char>(Code::kPushTail));
  put_elements(&ops_, elements);
  ++count_;
}

void ListOps::pop_head(uint64_t n) {
  ops_.push_back(static_cast<char>(Code::kPopHead));
  put_varint(&ops_, n);
  ++count_;
}

void ListOps::pop_tail(uint64_t n) {
  ops_.push_back(static_cast<char>(Code::kPopTail));
  put_varint(&ops_, n);
  ++count_;
}

void ListOps::set(uint64_t index, std::string_view value) {
  ops_.push_back(static_cast<char>(Code::kSet));
  put_varint(&ops_, index);
  put_length_prefixed(&ops_, value);
  ++count_;
}

void ListOps::trim(uint64_t start, uint64_t count) {
  ops_.push_back(static_cast<char>(Code::kTrim));
  put_varint(&ops_, start);
  put_varint(&ops_, count);
  ++count_;
}

void ListOps::remove(int64_t count, std::string_view value) {
  ops_.push_back(static_cast<char>(Code::kRemove));
  put_fixed64(&ops_, static_cast<uint64_t>(count));
  put_length_prefixed(&ops_, value);
  ++count_;
}

void ListOps::insert(bool after, std::string_view pivot, std::string_view value) {
  ops_.push_back(static_cast<char>(Code::kInsert));
  put_varint(&ops_, after ? 1 : 0);
  put_length_prefixed(&ops_, pivot);
  put_length_prefixed(&ops_, value);
  ++count_;
}

std::string ListOps::encode(Version prev) const {
  std::string out;
  out.reserve(kPrevBytes + 10 + ops_.size());
  put_fixed64(&out, prev.hlc);
  put_fixed32(&out, prev.region);
  put_varint(&out, count_);
  out.append(ops_);
  return out;
}

std::string ListOps::encode_piece(Version version, uint64_t offset, const std::vector<std::string_view>& elements) {
  std::string out;
  put_fixed64(&out, version.hlc);
  put_fixed32(&out, version.region);
  put_varint(&out, 1);
  out.push_back(static_cast<char>(Code::kAppendAt));
  put_varint(&out, offset);
  put_elements(&out, elements);
  return out;
}

Result<Version> list_op_prev(std::string_view op_bytes) {
  Version prev;
  if (!get_fixed64(&op_bytes, &prev.hlc) || !get_fixed32(&op_bytes, &prev.region)) {
    return Status::Corruption("list op: truncated");
  }
  return prev;
}

void set_list_op_prev(std::string* op_bytes, Version prev) {
  std::string head;
  put_fixed64(&head, prev.hlc);
  put_fixed32(&head, prev.region);
  op_bytes->replace(0, kPrevBytes, head);
}

Status validate_list_ops(std::string_view op_bytes, Version version) {
  auto prev = list_op_prev(op_bytes);
  if (!prev.ok()) return prev.status();
  std::vector<Op> ops;
  if (!decode_ops(op_bytes, &ops)) return Status::Corruption("list op: malformed");
  const bool piece = *prev == version;
  if (!piece && !(*prev < version)) return Status::Corruption("list op: applied to a newer list than itself");
  for (const Op& op : ops) {
    if ((op.code == ListOps::Code::kAppendAt) != piece || (piece && ops.size() != 1)) {
      return Status::Corruption("list op: a snapshot piece must be one append at its own version");
    }
  }
  return Status::Ok();
}

std::optional<uint64_t> list_piece_offset(std::string_view op_bytes, Version version) {
  auto prev = list_op_prev(op_bytes);
  if (!prev.ok() || *prev != version) return std::nullopt;
  std::vector<Op> ops;
  if (!decode_ops(op_bytes, &ops) || ops.size() != 1) return std::nullopt;
  return ops[0].a;
}

namespace {

// Byte offset, within an encoded list's elements (after the count), where
// element `index` starts (the end for index == count). O(index) varint reads.
size_t offset_of(std::string_view elements, size_t index) {
  std::string_view in = elements;
  for (size_t i = 0; i < index; ++i) next_element(&in);
  return elements.size() - in.size();
}

// `list` after one op. Pushes, pops, LSET and LTRIM splice the encoded bytes
// (one copy, no per-element work beyond finding an offset); LREM and LINSERT
// go element by element.
std::string apply_one(std::string_view list, const Op& op) {
  const ListView view(list);
  const size_t size = view.size();
  const std::string_view elements = list.substr(4);
  std::string out;
  auto start = [&](size_t count, size_t reserve) {
    out.reserve(4 + reserve);
    put_fixed32(&out, static_cast<uint32_t>(count));
  };
  switch (op.code) {
    case ListOps::Code::kPushHead:
    case ListOps::Code::kPushTail:
    case ListOps::Code::kAppendAt: {
      std::string added;
      for (std::string_view e : op.elements) put_length_prefixed(&added, e);
      start(size + op.elements.size(), elements.size() + added.size());
      if (op.code == ListOps::Code::kPushHead) {
        out.append(added);
        out.append(elements);
      } else {
        out.append(elements);
        out.append(added);
      }
      return out;
    }
    case ListOps::Code::kPopHead:
    case ListOps::Code::kPopTail:
    case ListOps::Code::kTrim: {
      // The kept range [from, to).
      size_t from = 0, to = size;
      if (op.code == ListOps::Code::kPopHead) from = static_cast<size_t>(std::min<uint64_t>(op.a, size));
      if (op.code == ListOps::Code::kPopTail) to = size - static_cast<size_t>(std::min<uint64_t>(op.a, size));
      if (op.code == ListOps::Code::kTrim) {
        from = static_cast<size_t>(std::min<uint64_t>(op.a, size));
        to = from + static_cast<size_t>(std::min<uint64_t>(op.b, size - from));
      }
      const size_t begin = offset_of(elements, from);
      const size_t end = to == size ? elements.size() : begin + offset_of(elements.substr(begin), to - from);
      start(to - from, end - begin);
      out.append(elements.substr(begin, end - begin));
      return out;
    }
    case ListOps::Code::kSet: {
      if (op.a >= size) return std::string(list);
      const size_t begin = offset_of(elements, static_cast<size_t>(op.a));
      std::string_view rest = elements.substr(begin);
      next_element(&rest);
      start(size, elements.size() + op.value.size());
      out.append(elements.substr(0, begin));
      put_length_prefixed(&out, op.value);
      out.append(rest);
      return out;
    }
    case ListOps::Code::kRemove:
    case ListOps::Code::kInsert: break;
  }
  const std::vector<std::string_view> before = view.elements();
  std::deque<std::string_view> changed(before.begin(), before.end());
  apply_op(op, &changed);
  return encode_list(std::vector<std::string_view>(changed.begin(), changed.end()));
}

}  // namespace

std::string apply_list_ops(std::string_view list, std::string_view op_bytes) {
  std::vector<Op> ops;
  decode_ops(op_bytes, &ops);
  if (ops.empty()) return std::string(list);  // EXPIRE, PERSIST: the list as it is
  std::string current = apply_one(list, ops[0]);
  for (size_t i = 1; i < ops.size(); ++i) current = apply_one(current, ops[i]);
  return current;
}

}  // namespace geocache
