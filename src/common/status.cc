// Status helpers: mapping to errno for the libc boundary and human-readable text.
#include "common/status.h"

#include <cstdlib>
#include <cstring>

namespace cove {

Status IoError(const std::string& what, int err) {
  return {StatusCode::kIo,
          what + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")"};
}

int Status::ToErrno() const {
  switch (code_) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInvalidArgument:
      return EINVAL;
    case StatusCode::kNotFound:
      return ENOENT;
    case StatusCode::kAlreadyExists:
      return EEXIST;
    case StatusCode::kPermissionDenied:
      return EACCES;
    case StatusCode::kIntegrityError:
      return EBADMSG;
    case StatusCode::kDataLoss:
      return EIO;
    case StatusCode::kUnsupported:
      return ENOSYS;
    case StatusCode::kFailedPrecondition:
      return EPERM;
    case StatusCode::kIo: {
      // IoError appends "(errno N)"; context added since goes before it.
      auto at = message_.rfind("(errno ");
      int value = at == std::string::npos ? 0 : std::atoi(message_.c_str() + at + 7);
      return value > 0 ? value : EIO;
    }
    case StatusCode::kInternal:
      return EIO;
    case StatusCode::kConflict:
      return EIO;
  }
  return EIO;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return message_;
}

}  // namespace cove
