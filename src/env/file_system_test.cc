#include "env/file_system.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace cs {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = ::testing::TempDir() + "/consentry_fs_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = dir_ + "/target";
  }
  // Every name in the directory but the target's.
  std::vector<std::string> Others() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      if (e.path().filename() != "target") out.push_back(e.path().filename().string());
    }
    return out;
  }
  std::string dir_;
  std::string path_;
};

TEST_F(FileSystemTest, AWriteReplacesTheFileWholeWithItsMode) {
  ASSERT_TRUE(WriteFileAtomically(PosixFileSystem(), path_, "old").ok());
  ASSERT_TRUE(WriteFileAtomically(PosixFileSystem(), path_, "new content").ok());
  EXPECT_EQ(ReadAll(path_), "new content");
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(Others().empty());
  // Create-only never replaces.
  DurableWriteOptions create;
  create.create_only = true;
  Status again = WriteFileAtomically(PosixFileSystem(), path_, "other", create);
  EXPECT_EQ(again.machine_code(), "file_exists");
  EXPECT_EQ(ReadAll(path_), "new content");
  EXPECT_TRUE(Others().empty());
}

// An error at any step (EIO, a full disk, a write cut short) leaves the old
// file untouched and nothing else behind; a full disk says so in its code.
TEST_F(FileSystemTest, AFailureAtAnyStepLeavesTheOldFileAndNoLeftovers) {
  using Fault = FaultyFileSystem::Fault;
  for (FileStep step : {FileStep::kCreate, FileStep::kWrite, FileStep::kSync, FileStep::kRename}) {
    for (Fault fault : {Fault::kIoError, Fault::kDiskFull, Fault::kShortWrite}) {
      if (fault == Fault::kShortWrite && step != FileStep::kWrite) continue;
      ASSERT_TRUE(WriteFileAtomically(PosixFileSystem(), path_, "old").ok());
      FaultyFileSystem fs;
      fs.FailAt(step, fault);
      Status s = WriteFileAtomically(fs, path_, std::string(100000, 'n'));
      const std::string where = std::string(FileStepName(step)) + "/" + std::to_string(static_cast<int>(fault));
      EXPECT_FALSE(s.ok()) << where;
      EXPECT_EQ(s.code(), StatusCode::kUnavailable) << where;
      EXPECT_EQ(s.machine_code(), fault == Fault::kIoError ? "storage_unavailable" : "disk_full") << where;
      EXPECT_EQ(ReadAll(path_), "old") << where;
      EXPECT_TRUE(Others().empty()) << where << ": " << (Others().empty() ? "" : Others().front());
    }
  }
  // A file that did not exist stays absent.
  std::filesystem::remove(path_);
  FaultyFileSystem fs;
  fs.FailAt(FileStep::kSync, Fault::kDiskFull);
  EXPECT_FALSE(WriteFileAtomically(fs, path_, "new").ok());
  EXPECT_FALSE(std::filesystem::exists(path_));
}

// The process dying between any two steps leaves the old file whole or the
// new one whole, never a part of either; what it leaves beside is only a
// temporary file with a unique name, which never blocks the next write.
TEST_F(FileSystemTest, ACrashBetweenAnyTwoStepsLeavesOneWholeFile) {
  const std::string fresh(100000, 'n');
  for (FileStep step : {FileStep::kCreate, FileStep::kWrite, FileStep::kSync, FileStep::kRename, FileStep::kSyncDir}) {
    ASSERT_TRUE(WriteFileAtomically(PosixFileSystem(), path_, "old").ok());
    FaultyFileSystem fs;
    fs.FailAt(step, FaultyFileSystem::Fault::kCrash);
    Status s = WriteFileAtomically(fs, path_, fresh);
    EXPECT_EQ(s.machine_code(), "simulated_crash") << FileStepName(step);
    EXPECT_TRUE(fs.crashed());
    const std::string now = ReadAll(path_);
    const bool renamed = step == FileStep::kRename || step == FileStep::kSyncDir;
    EXPECT_EQ(now, renamed ? fresh : std::string("old")) << FileStepName(step);
    // The next process writes as if nothing happened.
    ASSERT_TRUE(WriteFileAtomically(PosixFileSystem(), path_, "after").ok()) << FileStepName(step);
    EXPECT_EQ(ReadAll(path_), "after");
    for (const std::string& left : Others()) std::filesystem::remove(dir_ + "/" + left);
  }
}

TEST_F(FileSystemTest, ARenameIsDurableAndFailsWithoutMovingAnything) {
  ASSERT_TRUE(WriteFileAtomically(PosixFileSystem(), path_, "data").ok());
  const std::string moved = dir_ + "/moved";
  FaultyFileSystem fs;
  fs.FailAt(FileStep::kRename, FaultyFileSystem::Fault::kIoError);
  EXPECT_EQ(fs.RenameDurably(path_, moved).machine_code(), "storage_unavailable");
  EXPECT_EQ(ReadAll(path_), "data");
  ASSERT_TRUE(PosixFileSystem().RenameDurably(path_, moved).ok());
  EXPECT_EQ(ReadAll(moved), "data");
  EXPECT_FALSE(std::filesystem::exists(path_));
  EXPECT_EQ(PosixFileSystem().RenameDurably(dir_ + "/absent", path_).machine_code(), "storage_unavailable");
}

}  // namespace
}  // namespace cs
