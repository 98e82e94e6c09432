#pragma once
// Definitions of the functions declared in <mixtrain/io/files.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/io/files.hpp>

namespace mixtrain::io {
namespace files_detail {

MIXTRAIN_COLD std::string errno_text(int error) { return std::error_code(error, std::generic_category()).message(); }

MIXTRAIN_COLD bool write_all(int fd, std::string_view bytes) {
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

MIXTRAIN_COLD void sync_to_disk(const std::filesystem::path& path, bool directory) {
  files_detail::descriptor fd(path, directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (!fd.ok() || ::fsync(fd.get()) != 0)
    throw std::runtime_error(path.string() + ": cannot flush to disk (" + files_detail::errno_text(errno) + ")");
}

MIXTRAIN_COLD void write_atomically(const std::filesystem::path& path,
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

MIXTRAIN_COLD void write_text_atomically(const std::filesystem::path& path, std::string_view text) {
  write_atomically(path, [&](const std::filesystem::path& temporary) {
    files_detail::descriptor fd(temporary, O_WRONLY | O_CREAT | O_TRUNC);
    if (!fd.ok() || !files_detail::write_all(fd.get(), text))
      throw std::runtime_error(files_detail::errno_text(errno));
  });
}

MIXTRAIN_COLD void append_whole(const std::filesystem::path& path, std::string_view text) {
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

MIXTRAIN_COLD void require_writable_folder(const std::filesystem::path& folder, std::uintmax_t needed_bytes,
                                           std::size_t probe_bytes, std::string_view flag) {
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
