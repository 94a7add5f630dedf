// `cove fspf`: build and inspect file system protection files, with SCONE's verbs
// (create, addr, addf, encrypt) plus `show` and `cat` for operators.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "common/env.h"
#include "common/hex.h"
#include "shield/volume.h"

namespace cove::cli {
namespace {

namespace fs = std::filesystem;
using shield::FspfTag;
using shield::RegionKind;
using shield::Volume;
using shield::VolumeOptions;

int Fail(const Status& status) {
  std::cerr << "cove fspf: error: " << status.ToString() << "\n";
  return 1;
}

// Options shared by the verbs that open an existing fspf.
struct FspfAccess {
  std::string fspf;
  std::string key_hex;
  std::string tag_hex;
};

void AddAccessOptions(CLI::App* cmd, FspfAccess& access, bool tag_option) {
  cmd->add_option("FSPF", access.fspf, "file system protection file")->required();
  cmd->add_option("--key", access.key_hex, "fspf key (64 hex digits), for an encrypted fspf");
  if (tag_option) {
    cmd->add_option("--tag", access.tag_hex,
                    "expected fspf tag (32 hex digits): refuses any other version");
  }
}

Result<std::unique_ptr<Volume>> OpenVolume(const FspfAccess& access) {
  VolumeOptions options;
  options.fspf_path = access.fspf;
  if (!access.key_hex.empty()) {
    COVE_ASSIGN_OR_RETURN(options.key, HexDecodeSecret(access.key_hex, 32, "--key"));
  }
  if (!access.tag_hex.empty()) {
    COVE_ASSIGN_OR_RETURN(auto tag, HexDecode(access.tag_hex, "--tag"));
    if (tag.size() != sizeof(FspfTag)) return InvalidArgument("--tag: expected 32 hex digits");
    FspfTag expected{};
    std::memcpy(expected.data(), tag.data(), expected.size());
    options.expected_tag = expected;
  }
  return Volume::Open(std::move(options));
}

// After changing a sealed fspf, its tag changed: tell the operator the new one.
void PrintNewTagIfSealed(const Volume& volume) {
  if (volume.sealed()) std::cout << "fspf tag: " << HexEncode(volume.tag()) << "\n";
}

int RunAddr(const FspfAccess& access, const std::string& path, bool encrypted, bool authenticated,
            bool not_protected, const std::string& kernel) {
  if (int(encrypted) + int(authenticated) + int(not_protected) != 1) {
    return Fail(
        InvalidArgument("addr: give exactly one of --encrypted, --authenticated, --not-protected"));
  }
  auto volume = OpenVolume(access);
  if (!volume.ok()) return Fail(volume.status());
  shield::Region region;
  region.path = path;
  region.kind = encrypted       ? RegionKind::kEncrypted
                : authenticated ? RegionKind::kAuthenticated
                                : RegionKind::kNotProtected;
  if (!kernel.empty()) {
    auto normalized = shield::NormalizeAbsolutePath(fs::absolute(kernel).string());
    if (!normalized.ok()) return Fail(normalized.status().WithContext("--kernel"));
    region.kernel_path = *normalized;
  }
  Status status = (*volume)->AddRegion(std::move(region));
  if (status.ok()) status = (*volume)->Save();
  if (!status.ok()) return Fail(status.WithContext("addr " + path));
  PrintNewTagIfSealed(**volume);
  return 0;
}

// Streams one source file into a new protected file.
Status ProtectOneFile(Volume& volume, const fs::path& source, const std::string& protected_path,
                      const std::string& host_path, uint32_t chunk_size) {
  COVE_ASSIGN_OR_RETURN(UniqueFd in, Env::Default().Open(source.string(), O_RDONLY));
  COVE_ASSIGN_OR_RETURN(auto file, volume.CreateFile(protected_path, host_path, chunk_size));
  std::vector<uint8_t> buffer(1 << 20);
  uint64_t offset = 0;
  for (;;) {
    COVE_ASSIGN_OR_RETURN(size_t n,
                          Env::Default().ReadAt(in.get(), buffer, offset, source.string()));
    if (n == 0) break;
    COVE_RETURN_IF_ERROR(file->Write(offset, {buffer.data(), n}));
    offset += n;
  }
  return volume.Stage(*file);
}

int RunAddf(const FspfAccess& access, const std::string& region_path, const std::string& src_dir,
            const std::string& dst_dir, uint32_t chunk_size) {
  auto volume = OpenVolume(access);
  if (!volume.ok()) return Fail(volume.status());
  auto region = shield::NormalizeAbsolutePath(region_path);
  if (!region.ok()) return Fail(region.status().WithContext("addf REGION"));
  const shield::Region* found = (*volume)->fspf().RegionFor(*region);
  if (found == nullptr || found->kind == RegionKind::kNotProtected) {
    return Fail(InvalidArgument("addf: " + *region +
                                " is not inside an authenticated or encrypted region "
                                "(add one with `cove fspf addr`)"));
  }
  std::error_code ec;
  if (!fs::is_directory(src_dir, ec)) {
    return Fail(InvalidArgument("addf: SRC_DIR " + src_dir + " is not a directory"));
  }
  std::vector<fs::path> sources;
  for (auto it = fs::recursive_directory_iterator(src_dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
      sources.push_back(it->path());
    } else if (it->is_symlink(ec)) {
      std::cerr << "cove fspf: warning: skipping symbolic link " << it->path().string() << "\n";
    }
  }
  if (ec) return Fail(IoError("addf: reading " + src_dir, ec.value()));
  std::sort(sources.begin(), sources.end());
  bool progress = isatty(STDERR_FILENO) != 0 && sources.size() > 20;
  bool in_place = dst_dir.empty();
  size_t done = 0;
  for (const auto& source : sources) {
    std::string rel = fs::relative(source, src_dir).string();
    std::string protected_path = *region + (*region == "/" ? "" : "/") + rel;
    fs::path host = fs::path(in_place ? src_dir : dst_dir) / rel;
    fs::create_directories(host.parent_path(), ec);
    // In place, the protected copy is written beside the source and renamed over it.
    std::string host_path = in_place ? host.string() + ".cove-new" : host.string();
    Status status = ProtectOneFile(**volume, source, protected_path, host_path, chunk_size);
    // The protected file keeps the source's permission bits (an executable script stays one).
    if (status.ok()) {
      fs::permissions(
          host_path,
          fs::status(source, ec).permissions() | fs::perms::owner_read | fs::perms::owner_write,
          ec);
      if (ec) status = IoError("addf: chmod " + host_path, ec.value());
    }
    if (status.ok() && in_place) status = Env::Default().Rename(host_path, host.string());
    if (!status.ok()) return Fail(status.WithContext("addf " + source.string()));
    if (progress && (++done % 25 == 0 || done == sources.size())) {
      std::cerr << "\r[" << done << "/" << sources.size() << "] " << protected_path << "\033[K"
                << std::flush;
    }
  }
  if (progress) std::cerr << "\n";
  Status saved = (*volume)->Save();
  if (!saved.ok()) return Fail(saved);
  std::cout << "Added " << sources.size() << " file(s) to region " << *region << "\n";
  PrintNewTagIfSealed(**volume);
  return 0;
}

int RunEncrypt(const FspfAccess& access) {
  auto volume = OpenVolume(access);
  if (!volume.ok()) return Fail(volume.status());
  auto key = (*volume)->Encrypt();
  if (!key.ok()) return Fail(key.status());
  // SCONE's exact wording, so that scripts parsing it keep working.
  std::cout << "Encrypted file system protection file " << access.fspf
            << " AES-GCM tag: " << HexEncode((*volume)->tag()) << " key: " << HexEncode(key->span())
            << "\n";
  return 0;
}

int RunShow(const FspfAccess& access, bool json) {
  auto volume = OpenVolume(access);
  if (!volume.ok()) return Fail(volume.status());
  const shield::Fspf& fspf = (*volume)->fspf();
  if (json) {
    nlohmann::json out;
    out["fspf"] = access.fspf;
    out["encrypted"] = (*volume)->sealed();
    if ((*volume)->sealed()) out["tag"] = HexEncode((*volume)->tag());
    out["strict"] = fspf.strict();
    out["regions"] = nlohmann::json::array();
    for (const auto& region : fspf.regions) {
      out["regions"].push_back({{"path", region.path},
                                {"kind", shield::RegionKindName(region.kind)},
                                {"kernel_path", region.kernel_path}});
    }
    out["files"] = nlohmann::json::array();
    fspf.files.ForEach([&](std::string_view path, const shield::FileEntry& entry) {
      out["files"].push_back({{"path", path},
                              {"kind", shield::RegionKindName(entry.kind)},
                              {"size", entry.size},
                              {"generation", entry.generation},
                              {"chunk_size", entry.chunk_size},
                              {"id", HexEncode(entry.id)},
                              {"host_path", (*volume)->HostPathFor(std::string(path))}});
      return true;
    });
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "fspf " << access.fspf << " ("
            << ((*volume)->sealed() ? "encrypted, tag " + HexEncode((*volume)->tag())
                                    : std::string("not encrypted"))
            << (fspf.strict() ? ", strict" : "") << ")\n";
  std::cout << "regions:\n";
  for (const auto& region : fspf.regions) {
    std::cout << "  " << region.path << "  " << shield::RegionKindName(region.kind);
    if (!region.kernel_path.empty()) std::cout << "  (host: " << region.kernel_path << ")";
    std::cout << "\n";
  }
  std::cout << "files: " << fspf.files.size() << "\n";
  fspf.files.ForEach([](std::string_view path, const shield::FileEntry& entry) {
    std::cout << "  " << path << "  " << shield::RegionKindName(entry.kind) << "  " << entry.size
              << " bytes  generation " << entry.generation << "\n";
    return true;
  });
  return 0;
}

// Finds the fspf entry for FILE: a recorded protected path, or a protected file on disk
// identified by the file id in its header.
Result<std::pair<std::string, std::string>> ResolveFileToCat(Volume& volume,
                                                             const std::string& file,
                                                             const std::string& host_override) {
  auto normalized = shield::NormalizeAbsolutePath(fs::absolute(file).string());
  if (file.starts_with("/") && volume.FindFile(*normalized) != nullptr) {
    std::string host = host_override.empty() ? volume.HostPathFor(*normalized) : host_override;
    return std::make_pair(*normalized, host);
  }
  std::string host = host_override.empty() ? file : host_override;
  COVE_ASSIGN_OR_RETURN(UniqueFd fd, Env::Default().Open(host, O_RDONLY));
  std::array<uint8_t, 32> header{};
  COVE_ASSIGN_OR_RETURN(size_t n, Env::Default().ReadAt(fd.get(), header, 0, host));
  shield::FileId id{};
  if (n == header.size()) std::memcpy(id.data(), header.data() + 16, id.size());
  const shield::FileEntry* entry = n == header.size() ? volume.FindFileById(id) : nullptr;
  if (entry == nullptr) {
    return NotFound(file +
                    ": neither a protected path recorded in the fspf nor a protected "
                    "file it describes");
  }
  return std::make_pair(entry->path, host);
}

// The host file of a protected file, held with a shared flock as the runtime's readers hold
// it. A process under `cove run` holds it exclusively while it writes the file or while its
// rewrite waits for the next fspf save with the journal not yet applied: opening the file then
// could take that journal for a crashed writer's and undo it, and the fspf read here is about
// to change anyway. Refused, naming the file.
Result<UniqueFd> LockForReading(const std::string& host) {
  COVE_ASSIGN_OR_RETURN(UniqueFd fd, Env::Default().Open(host, O_RDONLY));
  int locked = 0;
  while ((locked = flock(fd.get(), LOCK_SH | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (locked == 0) return fd;
  if (errno != EWOULDBLOCK) return IoError("lock " + host, errno);
  return FailedPrecondition(host +
                            ": locked by a process under cove run (it is writing the file, or "
                            "its rewrite waits for that process's next fspf save, within about "
                            "a second); try again");
}

int RunCat(const FspfAccess& access, const std::string& file, const std::string& host) {
  if (access.tag_hex.empty()) {
    std::cerr << "cove fspf: warning: no --tag given: the fspf's freshness is not checked\n";
  }
  auto volume = OpenVolume(access);
  if (!volume.ok()) return Fail(volume.status());
  auto resolved = ResolveFileToCat(**volume, file, host);
  if (!resolved.ok()) return Fail(resolved.status());
  auto held = LockForReading(resolved->second);
  if (!held.ok()) return Fail(held.status());
  // The fspf is read again now that the file is held: a save that finished before the lock was
  // taken may have recorded a newer version of the file than the first read knew.
  volume = OpenVolume(access);
  if (!volume.ok()) {
    return Fail(volume.status().WithContext(
        "fspf read again once the file was locked (a process under cove run may have just "
        "saved it: try again with the current tag)"));
  }
  const shield::FileEntry* entry = (*volume)->FindFile(resolved->first);
  if (entry == nullptr) {
    return Fail(NotFound(resolved->first + ": removed from the fspf while cat waited"));
  }
  shield::FileEntry copy = *entry;
  auto protected_file = shield::ProtectedFile::Open(Env::Default(), resolved->second, copy, false);
  if (!protected_file.ok()) return Fail(protected_file.status());
  std::vector<uint8_t> buffer(1 << 20);
  uint64_t offset = 0;
  for (;;) {
    auto n = (*protected_file)->Read(offset, buffer);
    if (!n.ok()) return Fail(n.status());
    if (*n == 0) break;
    if (fwrite(buffer.data(), 1, *n, stdout) != *n) return Fail(IoError("cat: writing stdout"));
    offset += *n;
  }
  OPENSSL_cleanse(buffer.data(), buffer.size());
  return fflush(stdout) == 0 ? 0 : Fail(IoError("cat: writing stdout"));
}

void RegisterFspf(CLI::App& app, int& exit_code) {
  auto* fspf = app.add_subcommand("fspf", "build and inspect file system protection files");
  fspf->require_subcommand(1);

  auto* create = fspf->add_subcommand("create", "create an empty fspf");
  // Parsed arguments live as long as the process, like the CLI11 app that fills them.
  static std::string create_path_storage;
  auto* create_path = &create_path_storage;
  create->add_option("FSPF", *create_path, "file to create")->required();
  create->callback([&exit_code, create_path] {
    Status status = Volume::CreateFspf(*create_path);
    exit_code = status.ok() ? 0 : Fail(status);
    if (status.ok()) std::cout << "Created file system protection file " << *create_path << "\n";
  });

  struct AddrArgs {
    FspfAccess access;
    std::string path, kernel;
    bool encrypted = false, authenticated = false, not_protected = false;
  };
  static AddrArgs addr_args_storage;
  auto* addr_args = &addr_args_storage;
  auto* addr = fspf->add_subcommand("addr", "add (or change) a region");
  AddAccessOptions(addr, addr_args->access, false);
  addr->add_option("PATH", addr_args->path, "region path prefix (absolute)")->required();
  addr->add_flag("--encrypted,-e", addr_args->encrypted, "encrypted region");
  addr->add_flag("--authenticated,-a", addr_args->authenticated, "authenticated region");
  addr->add_flag("--not-protected,-n", addr_args->not_protected, "unprotected region");
  addr->add_option("--kernel,-k", addr_args->kernel, "host path holding the region's files");
  addr->callback([&exit_code, addr_args] {
    exit_code = RunAddr(addr_args->access, addr_args->path, addr_args->encrypted,
                        addr_args->authenticated, addr_args->not_protected, addr_args->kernel);
  });

  struct AddfArgs {
    FspfAccess access;
    std::string region, src, dst;
    uint32_t chunk_size = shield::kDefaultChunkSize;
  };
  static AddfArgs addf_args_storage;
  auto* addf_args = &addf_args_storage;
  auto* addf = fspf->add_subcommand("addf", "protect the files of SRC_DIR into REGION");
  AddAccessOptions(addf, addf_args->access, false);
  addf->add_option("REGION", addf_args->region, "protected path the files appear under")
      ->required();
  addf->add_option("SRC_DIR", addf_args->src, "directory of plain files")->required();
  addf->add_option("DST_DIR", addf_args->dst,
                   "where the protected files are written (default: in place)");
  addf->add_option("--chunk-size", addf_args->chunk_size, "chunk size in bytes (default 4096)");
  addf->callback([&exit_code, addf_args] {
    exit_code = RunAddf(addf_args->access, addf_args->region, addf_args->src, addf_args->dst,
                        addf_args->chunk_size);
  });

  static FspfAccess encrypt_args_storage;
  auto* encrypt_args = &encrypt_args_storage;
  auto* encrypt = fspf->add_subcommand("encrypt", "seal the fspf with a fresh key");
  AddAccessOptions(encrypt, *encrypt_args, false);
  encrypt->callback([&exit_code, encrypt_args] { exit_code = RunEncrypt(*encrypt_args); });

  struct ShowArgs {
    FspfAccess access;
    bool json = false;
  };
  static ShowArgs show_args_storage;
  auto* show_args = &show_args_storage;
  auto* show = fspf->add_subcommand("show", "list regions and files");
  AddAccessOptions(show, show_args->access, true);
  show->add_flag("--json", show_args->json, "machine-readable output");
  show->callback(
      [&exit_code, show_args] { exit_code = RunShow(show_args->access, show_args->json); });

  struct CatArgs {
    FspfAccess access;
    std::string file, host;
  };
  static CatArgs cat_args_storage;
  auto* cat_args = &cat_args_storage;
  auto* cat = fspf->add_subcommand("cat", "decrypt and verify one file to stdout");
  AddAccessOptions(cat, cat_args->access, true);
  cat->add_option("FILE", cat_args->file, "protected path, or a protected file on disk")
      ->required();
  cat->add_option("--host", cat_args->host, "host location of FILE (default: from its region)");
  cat->callback([&exit_code, cat_args] {
    exit_code = RunCat(cat_args->access, cat_args->file, cat_args->host);
  });
}

COVE_REGISTER_COMMAND("fspf", RegisterFspf);

}  // namespace
}  // namespace cove::cli
