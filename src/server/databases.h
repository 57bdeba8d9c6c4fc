// Databases 0-15 (SELECT): one store per region holds them all. A key of
// database 0 is stored as it is, so what the C++ API, replication and older
// nodes see of database 0 is unchanged; a key of database n > 0 is stored
// behind a reserved prefix, "\0\x01db" and the byte n. The prefix travels with
// the key, so a write replicates with its database at no cost, and every
// region keeps the databases apart.
//
// The price: database 0 keys that begin with the 4 reserved bytes would show
// in another database (keys are binary; no client writes such keys by
// chance), and enumerations (KEYS, SCAN, DBSIZE in a database other than 0,
// FLUSHDB, INFO keyspace) filter the one store by prefix.
//
// Thread-safety: pure functions, and one process-wide flag.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

namespace geocache {

inline constexpr int kDatabases = 16;
inline constexpr std::string_view kDbKeyPrefix{"\0\x01" "db", 4};

// Whether a key of a database other than 0 has been written or seen by this
// process (dispatch and enumerations set it). While it is false, database 0
// is the whole store, and DBSIZE and FLUSHDB of database 0 take their O(1)
// paths. A process that has only received other databases' keys from
// another region learns of them at its first enumeration.
inline std::atomic<bool>& other_databases_seen() {
  static std::atomic<bool> seen{false};
  return seen;
}

// The stored form of key in database db.
inline std::string db_key(int db, std::string_view key) {
  std::string out;
  out.reserve(kDbKeyPrefix.size() + 1 + key.size());
  out.append(kDbKeyPrefix);
  out.push_back(static_cast<char>(db));
  out.append(key);
  return out;
}

// The database of a stored key, and the key as its clients know it.
inline int key_db(std::string_view stored, std::string_view* key) {
  if (stored.size() > kDbKeyPrefix.size() && stored.substr(0, kDbKeyPrefix.size()) == kDbKeyPrefix) {
    const int db = static_cast<unsigned char>(stored[kDbKeyPrefix.size()]);
    if (db > 0 && db < kDatabases) {
      *key = stored.substr(kDbKeyPrefix.size() + 1);
      other_databases_seen().store(true, std::memory_order_relaxed);
      return db;
    }
  }
  *key = stored;
  return 0;
}

}  // namespace geocache
