#include "core/status.h"

namespace geocache {

std::string Status::to_string() const {
  if (ok()) return "OK";
  return message_;
}

}  // namespace geocache
