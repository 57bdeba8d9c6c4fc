// JSON commands (a root-only subset of RedisJSON): JSON.SET, JSON.GET,
// JSON.MGET, JSON.DEL/JSON.FORGET, JSON.TYPE.
//
// A document is one record of kind kJson holding an encoded Value, so it
// replicates as a whole like every other key (DESIGN.md). Values written as
// non-scalars through the C++ API (kApiValue) read as documents too.
//
// Paths: only the root is supported, written "$" (JSONPath: results come
// wrapped in an array, as RedisJSON does) or "." (legacy: the bare value).
// Other paths are refused with a clear error instead of being half-supported.
// Deviations from RedisJSON: object members come back in byte order of their
// names (Value::Map is ordered), and JSON.GET's INDENT/NEWLINE/SPACE
// formatting options are not supported.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/arg_parser.h"
#include "server/command_families.h"
#include "server/data_helpers.h"
#include "server/errors.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;

enum class PathKind { kLegacyRoot, kJsonPathRoot, kOther };

PathKind path_kind(std::string_view path) {
  if (path == ".") return PathKind::kLegacyRoot;
  if (path == "$") return PathKind::kJsonPathRoot;
  return PathKind::kOther;
}

bool is_document(ValueKind kind) { return kind == ValueKind::kJson || kind == ValueKind::kApiValue; }

// The document held by rec: kWrongType for strings and hashes, kCorruption
// for bytes that do not decode.
Status decode_document(const RecordView& rec, Value* out) {
  if (!is_document(rec.kind)) return Status::WrongType();
  auto v = Value::decode(rec.bytes);
  if (!v.ok()) return v.status();
  *out = std::move(*v);
  return Status::Ok();
}

// Reads the document at key. Returns false after replying an error; *found
// tells whether the key exists.
bool read_document_or_reply(CommandContext& ctx, std::string_view key, Value* doc, bool* found) {
  Status st;
  *found = ctx.cache.reader(ctx.region).get(key, [&](const RecordView& rec) { st = decode_document(rec, doc); });
  return ok_or_reply(ctx, st);
}

// JSON.SET key path json [NX|XX]: replaces the whole document. NX/XX
// failing replies nil. A new document gets the default TTL; replacing an
// existing one keeps its TTL (the key is updated, not re-created).
void json_set_command(CommandContext& ctx, Args args) {
  const PathKind path = path_kind(args[2]);
  bool nx = false, xx = false;
  ArgParser p(args, 4);
  while (p.has_next()) {
    if (p.check("NX")) {
      nx = true;
    } else if (p.check("XX")) {
      xx = true;
    } else {
      p.fail(errors::kSyntax);
    }
  }
  if (nx && xx) p.fail(errors::kSyntax);
  if (!p.ok_or_reply(ctx.reply)) return;
  auto doc = Value::from_json(args[3]);
  if (!doc.ok()) {
    ctx.reply.error(errors::json_parse(doc.status().message()));
    return;
  }
  std::string bytes = doc->encode();

  bool written = false;
  const bool ok = mutate_or_reply(ctx, args[1], [&](const RecordView* cur, std::optional<Record>* next) {
    if (cur != nullptr && !is_document(cur->kind)) return Status::WrongType();
    if (path == PathKind::kOther) return cur == nullptr ? Status::JsonNewAtRoot() : Status::JsonRootOnly();
    if ((nx && cur != nullptr) || (xx && cur == nullptr)) return Status::Ok();
    written = true;
    *next = make_record(ValueKind::kJson, std::move(bytes),
                        cur != nullptr ? cur->expire_at_ms : default_expire_at(ctx.cache));
    return Status::Ok();
  });
  if (!ok) return;
  if (written) {
    ctx.reply.ok();
  } else {
    ctx.reply.null();
  }
}

// The text JSON.GET gives for one root path.
std::string render(const Value& doc, PathKind path) {
  std::string text = doc.to_json();
  return path == PathKind::kJsonPathRoot ? "[" + text + "]" : text;
}

// JSON.GET key [path ...]: no path means the legacy root ".". Several paths
// give an object keyed by path, each value rendered as for one path.
void json_get_command(CommandContext& ctx, Args args) {
  for (size_t i = 2; i < args.size(); ++i) {
    if (path_kind(args[i]) == PathKind::kOther) {
      ctx.reply.error(errors::kJsonRootOnly);
      return;
    }
  }
  Value doc;
  bool found = false;
  if (!read_document_or_reply(ctx, args[1], &doc, &found)) return;
  if (!found) {
    ctx.reply.null();
    return;
  }
  if (args.size() <= 3) {
    ctx.reply.bulk(render(doc, args.size() == 3 ? path_kind(args[2]) : PathKind::kLegacyRoot));
    return;
  }
  // Several paths: RedisJSON answers in JSONPath form (values in arrays) as
  // soon as one path is a JSONPath, and gives each distinct path once.
  bool any_jsonpath = false;
  for (size_t i = 2; i < args.size(); ++i) any_jsonpath |= path_kind(args[i]) == PathKind::kJsonPathRoot;
  const std::string value = render(doc, any_jsonpath ? PathKind::kJsonPathRoot : PathKind::kLegacyRoot);
  bool legacy_done = false, jsonpath_done = false;
  std::string out = "{";
  for (size_t i = 2; i < args.size(); ++i) {
    bool& done = path_kind(args[i]) == PathKind::kJsonPathRoot ? jsonpath_done : legacy_done;
    if (done) continue;
    done = true;
    if (out.size() > 1) out += ',';
    out += '"';
    out += args[i];  // "$" or ".": nothing to escape
    out += "\":";
    out += value;
  }
  out += '}';
  ctx.reply.bulk(out);
}

// JSON.MGET key [key ...] path: one entry per key, nil for a key that is
// absent or not a document.
void json_mget_command(CommandContext& ctx, Args args) {
  const PathKind path = path_kind(args.back());
  if (path == PathKind::kOther) {
    ctx.reply.error(errors::kJsonRootOnly);
    return;
  }
  const RegionReader reader = ctx.cache.reader(ctx.region);
  ctx.reply.array_header(args.size() - 2);
  for (size_t i = 1; i + 1 < args.size(); ++i) {
    std::optional<std::string> text;
    reader.get(args[i], [&](const RecordView& rec) {
      Value doc;
      if (decode_document(rec, &doc).ok()) text = render(doc, path);
    });
    if (text) {
      ctx.reply.bulk(*text);
    } else {
      ctx.reply.null();
    }
  }
}

// JSON.DEL / JSON.FORGET key [path]: deleting the root deletes the key;
// replies how many values went (1 or 0).
void json_del_command(CommandContext& ctx, Args args) {
  if (args.size() > 3) {
    ctx.reply.error(errors::kSyntax);
    return;
  }
  if (args.size() == 3 && path_kind(args[2]) == PathKind::kOther) {
    ctx.reply.error(errors::kJsonRootOnly);
    return;
  }
  bool deleted = false;
  const bool ok = mutate_or_reply(ctx, args[1], [&](const RecordView* cur, std::optional<Record>* next) {
    if (cur != nullptr && !is_document(cur->kind)) return Status::WrongType();
    // Absent here, deleted anyway: a write elsewhere not received yet is older.
    deleted = cur != nullptr;
    *next = tombstone_record();
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(deleted ? 1 : 0);
}

// JSON.TYPE key [path]: the root value's type name ("object", "array",
// "string", "integer", "number", "boolean", "null"); in an array for "$".
void json_type_command(CommandContext& ctx, Args args) {
  if (args.size() > 3) {
    ctx.reply.error(errors::kSyntax);
    return;
  }
  const PathKind path = args.size() == 3 ? path_kind(args[2]) : PathKind::kLegacyRoot;
  if (path == PathKind::kOther) {
    ctx.reply.error(errors::kJsonRootOnly);
    return;
  }
  Value doc;
  bool found = false;
  if (!read_document_or_reply(ctx, args[1], &doc, &found)) return;
  if (!found) {
    ctx.reply.null();
    return;
  }
  if (path == PathKind::kJsonPathRoot) ctx.reply.array_header(1);
  ctx.reply.bulk(Value::type_name(doc.type()));
}

// Arity and key positions as RedisJSON registers them.
constexpr CommandSpec kJsonCommands[] = {
    {"json.set", -4, kW | kM, json_set_command, 1, 1, 1},
    {"json.get", -2, kR, json_get_command, 1, 1, 1},
    {"json.mget", -3, kR, json_mget_command, 1, -2, 1},
    {"json.del", -2, kW, json_del_command, 1, 1, 1},
    {"json.forget", -2, kW, json_del_command, 1, 1, 1},
    {"json.type", -2, kR, json_type_command, 1, 1, 1},
};

}  // namespace

std::span<const CommandSpec> json_family() { return kJsonCommands; }

}  // namespace geocache
