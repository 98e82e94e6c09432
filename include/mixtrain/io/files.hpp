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

namespace mixtrain::io {

namespace files_detail {

inline std::string errno_text(int error) { return std::error_code(error, std::generic_category()).message(); }

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
inline bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

}  // namespace files_detail

// Flushes a file's (or a folder's) contents to the disk; throws naming it.
inline void sync_to_disk(const std::filesystem::path& path, bool directory = false) {
  files_detail::descriptor fd(path, directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (!fd.ok() || ::fsync(fd.get()) != 0)
    throw std::runtime_error(path.string() + ": cannot flush to disk (" + files_detail::errno_text(errno) + ")");
}

// Writes through `writer` into `<path>.partial`, flushes it to the disk,
// renames it over `path` and flushes the folder: a reader (or the next run
// after a crash or power loss) finds the old file or the new one, never a
// partial one. On failure the temporary file is removed and the error names
// `path`; the previous file is untouched.
inline void write_atomically(const std::filesystem::path& path,
                             const std::function<void(const std::filesystem::path&)>& writer) {
  const auto folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const auto temporary = std::filesystem::path(path.string() + ".partial");
  try {
    std::filesystem::create_directories(folder);
    writer(temporary);
    sync_to_disk(temporary);
    std::filesystem::rename(temporary, path);
    sync_to_disk(folder, true);
  } catch (const std::exception& e) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    const std::string what = e.what();
    throw std::runtime_error("cannot write " + path.string() + ": " + what.substr(0, what.find('\n')) +
                             (std::filesystem::exists(path) ? "; the previous " + path.filename().string() + " is kept"
                                                            : std::string()));
  }
}

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
inline void write_text_atomically(const std::filesystem::path& path, std::string_view text) {
  write_atomically(path, [&](const std::filesystem::path& temporary) {
    files_detail::descriptor fd(temporary, O_WRONLY | O_CREAT | O_TRUNC);
    if (!fd.ok() || !files_detail::write_all(fd.get(), text))
      throw std::runtime_error(files_detail::errno_text(errno));
  });
}

// Appends `text` (e.g. one CSV row) whole or not at all: when the system
// refuses part of it (a full disk, a file-size limit), the file is cut back
// to its previous length and the error names the file.
inline void append_whole(const std::filesystem::path& path, std::string_view text) {
  files_detail::descriptor fd(path, O_WRONLY | O_APPEND | O_CREAT);
  struct stat before {};
  if (!fd.ok() || ::fstat(fd.get(), &before) != 0)
    throw std::runtime_error("cannot append to " + path.string() + ": " + files_detail::errno_text(errno));
  if (files_detail::write_all(fd.get(), text)) return;
  const int error = errno;
  (void)!::ftruncate(fd.get(), before.st_size);  // best effort: the write error is the one to report
  throw std::runtime_error("cannot append to " + path.string() + ": " + files_detail::errno_text(error) +
                           " (the file is left as it was)");
}

// Refuses, before any training, an output folder that cannot be created or
// written, or that has less free space than `needed_bytes`. The probe writes
// and flushes `probe_bytes` (so a file-size limit or a full disk shows now,
// not at the first checkpoint) and removes them again.
inline void require_writable_folder(const std::filesystem::path& folder, std::uintmax_t needed_bytes,
                                    std::size_t probe_bytes = std::size_t{1} << 20, std::string_view flag = "--output_dir") {
  const std::string name = std::string(flag) + " " + folder.string();
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) throw std::runtime_error(name + ": cannot create the folder (" + error.message() + ")");
  if (!std::filesystem::is_directory(folder)) throw std::runtime_error(name + ": not a folder");
  const auto probe = folder / ".mixtrain_write_probe";
  {
    files_detail::descriptor fd(probe, O_WRONLY | O_CREAT | O_TRUNC);
    const std::string bytes(probe_bytes, '\0');
    const bool written = fd.ok() && files_detail::write_all(fd.get(), bytes) && ::fsync(fd.get()) == 0;
    const int write_error = errno;
    std::filesystem::remove(probe, error);
    if (!written)
      throw std::runtime_error(name + ": cannot write there (" + files_detail::errno_text(write_error) + ")");
  }
  const auto space = std::filesystem::space(folder, error);
  if (!error && space.available < needed_bytes)
    throw std::runtime_error(name + ": " + std::to_string(space.available >> 20) + " MiB free, but this run needs about " +
                             std::to_string(needed_bytes >> 20) +
                             " MiB (a checkpoint and its replacement, which is written before the old one goes)");
}

}  // namespace mixtrain::io
