#pragma once
// Writing files so that nothing is lost or torn: whole-file replacement
// through a temporary sibling (write, fsync, rename, fsync the folder),
// appends that leave a whole line or nothing, and a check that an output
// folder can take a checkpoint before any training starts. Every error names
// the file and the reason (the errno text, e.g. "File too large").
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::io {

namespace files_detail {

MIXTRAIN_COLD std::string errno_text(int error);

// Closes on scope exit; POSIX descriptors because fsync and ftruncate need them.
class descriptor {
 public:
  descriptor(const std::filesystem::path& path, int flags, mode_t mode = 0644) : fd_(::open(path.c_str(), flags, mode)) {}
  ~descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  descriptor(const descriptor&) = delete;
  descriptor& operator=(const descriptor&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

// Writes all of `bytes`; false (errno set) when the system refuses part of it.
MIXTRAIN_COLD bool write_all(int fd, std::string_view bytes);

}  // namespace files_detail

// Flushes a file's (or a folder's) contents to the disk; throws naming it.
MIXTRAIN_COLD void sync_to_disk(const std::filesystem::path& path, bool directory = false);

// Writes through `writer` into `<path>.partial`, flushes it to the disk,
// renames it over `path` and flushes the folder: a reader (or the next run
// after a crash or power loss) finds the old file or the new one, never a
// partial one. On failure the temporary file is removed and the error names
// `path`; the previous file is untouched.
MIXTRAIN_COLD void write_atomically(const std::filesystem::path& path,
                                    const std::function<void(const std::filesystem::path&)>& writer);

// A byte sink over a file that never throws while the producer writes: the
// first failure is kept (later bytes are dropped) and reported by finish().
// LibTorch's archive writer needs this: when a write fails inside it, its
// destructor writes the zip directory again, throws a second time and the
// process aborts; fed through this sink it finishes normally and the error
// is reported here, naming the file.
class file_sink {
 public:
  explicit file_sink(const std::filesystem::path& path)
      : path_(path), fd_(path, O_WRONLY | O_CREAT | O_TRUNC), error_(fd_.ok() ? 0 : errno) {}

  std::size_t write(const void* data, std::size_t size) {
    if (error_ == 0 && !files_detail::write_all(fd_.get(), {static_cast<const char*>(data), size})) error_ = errno;
    return size;
  }
  // Throws with the first error, if any.
  void finish() const {
    if (error_ != 0) throw std::runtime_error(files_detail::errno_text(error_));
  }

 private:
  std::filesystem::path path_;
  files_detail::descriptor fd_;
  int error_;
};

// Text into a file, whole-file replacement as above.
MIXTRAIN_COLD void write_text_atomically(const std::filesystem::path& path, std::string_view text);

// Appends `text` (e.g. one CSV row) whole or not at all: when the system
// refuses part of it (a full disk, a file-size limit), the file is cut back
// to its previous length and the error names the file.
MIXTRAIN_COLD void append_whole(const std::filesystem::path& path, std::string_view text);

// Refuses, before any training, an output folder that cannot be created or
// written, or that has less free space than `needed_bytes`. The probe writes
// and flushes `probe_bytes` (so a file-size limit or a full disk shows now,
// not at the first checkpoint) and removes them again.
MIXTRAIN_COLD void require_writable_folder(const std::filesystem::path& folder, std::uintmax_t needed_bytes,
                                           std::size_t probe_bytes = std::size_t{1} << 20, std::string_view flag = "--output_dir");

}  // namespace mixtrain::io

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/io/impl/files.ipp>
#endif
