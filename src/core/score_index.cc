// The skiplist (W. Pugh, with Redis's spans and backward links).
//
// Every node has 1..kMaxLevel links, a node having more than i with
// probability 1/4^i. Link i of node x points to the next node having more
// than i links, and its span counts the elements it jumps over, the target
// included; so summing spans along a search path gives the rank of where the
// search stops. The header is a node with every level and no element; level
// 0's links form the whole order, and backward links the reverse one (the
// first node's backward link is null, tail_ the last node).
#include "core/score_index.h"

#include <cassert>
#include <new>
#include <utility>

namespace geocache {
namespace {
constexpr int kMaxLevel = 32;
}  // namespace

struct ScoreIndex::Node {
  struct Link {
    Node* forward;
    size_t span;
  };
  double score;
  std::string member;
  Node* backward;
  int levels;
  Link* link() { return reinterpret_cast<Link*>(this + 1); }
  const Link* link() const { return reinterpret_cast<const Link*>(this + 1); }

  static Node* make(int levels, double score, std::string_view member) {
    void* mem = ::operator new(sizeof(Node) + levels * sizeof(Link));
    Node* n = new (mem) Node{score, std::string(member), nullptr, levels};
    for (int i = 0; i < levels; ++i) n->link()[i] = {nullptr, 0};
    return n;
  }
  static void destroy(Node* n) {
    n->~Node();
    ::operator delete(n);
  }
};

namespace {

// (score, member) order: does node x come before (score, member)?
bool before(const ScoreIndex::Node* x, double score, std::string_view member) {
  return x->score < score || (x->score == score && std::string_view(x->member) < member);
}

}  // namespace

ScoreIndex::ScoreIndex() : header_(Node::make(kMaxLevel, 0, {})) {}

ScoreIndex::~ScoreIndex() {
  clear();
  Node::destroy(header_);
}

ScoreIndex::ScoreIndex(const ScoreIndex& other) : ScoreIndex() {
  for (const Node* n = other.at(0); n != nullptr; n = next(n)) insert(n->score, n->member);
}

ScoreIndex& ScoreIndex::operator=(const ScoreIndex& other) {
  if (this != &other) {
    ScoreIndex copy(other);
    *this = std::move(copy);
  }
  return *this;
}

ScoreIndex::ScoreIndex(ScoreIndex&& other) noexcept : ScoreIndex() { *this = std::move(other); }

ScoreIndex& ScoreIndex::operator=(ScoreIndex&& other) noexcept {
  std::swap(header_, other.header_);
  std::swap(tail_, other.tail_);
  std::swap(length_, other.length_);
  std::swap(level_, other.level_);
  return *this;
}

void ScoreIndex::clear() {
  Node* x = header_->link()[0].forward;
  while (x != nullptr) {
    Node* n = x->link()[0].forward;
    Node::destroy(x);
    x = n;
  }
  for (int i = 0; i < kMaxLevel; ++i) header_->link()[i] = {nullptr, 0};
  tail_ = nullptr;
  length_ = 0;
  level_ = 1;
}

int ScoreIndex::random_level() {
  // xorshift64: cheap, and the index needs no better randomness.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  uint64_t bits = rng_;
  int level = 1;
  while (level < kMaxLevel && (bits & 3) == 0) {
    ++level;
    bits >>= 2;
  }
  return level;
}

void ScoreIndex::insert(double score, std::string_view member) {
  Node* update[kMaxLevel];
  size_t rank[kMaxLevel];
  Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    rank[i] = i == level_ - 1 ? 0 : rank[i + 1];
    while (x->link()[i].forward != nullptr && before(x->link()[i].forward, score, member)) {
      rank[i] += x->link()[i].span;
      x = x->link()[i].forward;
    }
    update[i] = x;
  }
  const int level = random_level();
  if (level > level_) {
    for (int i = level_; i < level; ++i) {
      rank[i] = 0;
      update[i] = header_;
      update[i]->link()[i].span = length_;
    }
    level_ = level;
  }
  x = Node::make(level, score, member);
  for (int i = 0; i < level; ++i) {
    x->link()[i].forward = update[i]->link()[i].forward;
    update[i]->link()[i].forward = x;
    x->link()[i].span = update[i]->link()[i].span - (rank[0] - rank[i]);
    update[i]->link()[i].span = rank[0] - rank[i] + 1;
  }
  for (int i = level; i < level_; ++i) ++update[i]->link()[i].span;
  x->backward = update[0] == header_ ? nullptr : update[0];
  if (x->link()[0].forward != nullptr) x->link()[0].forward->backward = x;
  else tail_ = x;
  ++length_;
}

bool ScoreIndex::erase(double score, std::string_view member) {
  Node* update[kMaxLevel];
  Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->link()[i].forward != nullptr && before(x->link()[i].forward, score, member)) x = x->link()[i].forward;
    update[i] = x;
  }
  x = x->link()[0].forward;
  if (x == nullptr || x->score != score || x->member != member) return false;
  for (int i = 0; i < level_; ++i) {
    if (update[i]->link()[i].forward == x) {
      update[i]->link()[i].span += x->link()[i].span - 1;
      update[i]->link()[i].forward = x->link()[i].forward;
    } else {
      --update[i]->link()[i].span;
    }
  }
  if (x->link()[0].forward != nullptr) x->link()[0].forward->backward = x->backward;
  else tail_ = x->backward;
  while (level_ > 1 && header_->link()[level_ - 1].forward == nullptr) --level_;
  --length_;
  Node::destroy(x);
  return true;
}

size_t ScoreIndex::count_before(absl::FunctionRef<bool(double, std::string_view)> pred) const {
  const Node* x = header_;
  size_t rank = 0;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->link()[i].forward != nullptr && pred(x->link()[i].forward->score, x->link()[i].forward->member)) {
      rank += x->link()[i].span;
      x = x->link()[i].forward;
    }
  }
  return rank;
}

size_t ScoreIndex::rank(double score, std::string_view member) const {
  return count_before([&](double s, std::string_view m) { return s < score || (s == score && m < member); });
}

const ScoreIndex::Node* ScoreIndex::at(size_t rank) const {
  if (rank >= length_) return nullptr;
  const size_t target = rank + 1;
  size_t traversed = 0;
  Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->link()[i].forward != nullptr && traversed + x->link()[i].span <= target) {
      traversed += x->link()[i].span;
      x = x->link()[i].forward;
    }
    if (traversed == target) return x;
  }
  assert(false);
  return nullptr;
}

const ScoreIndex::Node* ScoreIndex::next(const Node* n) { return n->link()[0].forward; }
const ScoreIndex::Node* ScoreIndex::prev(const Node* n) { return n->backward; }
double ScoreIndex::score(const Node* n) { return n->score; }
std::string_view ScoreIndex::member(const Node* n) { return n->member; }

}  // namespace geocache
