// Tests of Status::ToErrno: the errno the runtime hands a program for each kind of failure.
#include "common/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace cove {
namespace {

TEST(StatusToErrno, AnOsErrorKeepsItsErrnoThroughAddedContext) {
  // An open protected file costs descriptors: EMFILE must reach the program as EMFILE, and
  // let the message say so, not EIO.
  Status status = IoError("open /data/f", EMFILE).WithContext("f: host file");
  EXPECT_EQ(status.ToErrno(), EMFILE);
  EXPECT_EQ(IoError("open /data/f", ENOENT).ToErrno(), ENOENT);
  EXPECT_EQ(Status(StatusCode::kIo, "no errno in this text").ToErrno(), EIO);
}

TEST(StatusToErrno, EachCodeHasItsErrno) {
  EXPECT_EQ(Status::Ok().ToErrno(), 0);
  EXPECT_EQ(IntegrityError("tampered").ToErrno(), EBADMSG);
  EXPECT_EQ(NotFound("gone").ToErrno(), ENOENT);
  EXPECT_EQ(InvalidArgument("bad").ToErrno(), EINVAL);
}

}  // namespace
}  // namespace cove
