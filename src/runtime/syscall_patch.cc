// PatchLoadedObjects and the table of patched sites the trap's SIGSEGV handler looks up
// (syscall_patch.h). Ordinary context only, except FindPatchedSite.
#include "runtime/syscall_patch.h"

#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "runtime/raw_syscall.h"
#include "runtime/syscall_sites.h"

namespace cove::runtime {

namespace {

// The sorted sites, published whole: a dlopen builds a new table and swaps the pointer. Old
// tables are never freed (a handler may still be searching one); dlopen is rare.
struct SiteTable {
  size_t count;
  const PatchedSite* sites;
};
std::atomic<const SiteTable*> g_table{nullptr};
// Whether any site was written (SitesPatched).
std::atomic<bool> g_any_patched{false};

// An object scanned, by its program headers' address (unique while it is loaded: records of
// unloaded objects are dropped at dlclose, ForgetUnloadedObjects), and its sites.
struct Record {
  const void* id;
  std::vector<PatchedSite> sites;
};
// The records (nullptr until PatchLoadedObjects succeeded), the object to skip, and the
// serialization of the functions below.
std::mutex g_objects_mutex;
std::vector<Record>* g_records = nullptr;
uintptr_t g_skip_address = 0;

// The PT_LOAD segment holding `address` (its index), or -1.
int SegmentOf(const dl_phdr_info& object, uintptr_t address) {
  for (int i = 0; i < object.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = object.dlpi_phdr[i];
    uintptr_t begin = object.dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && address >= begin && address - begin < ph.p_memsz) return i;
  }
  return -1;
}

struct ObjectSites {
  dl_phdr_info object;  // its program headers stay mapped while the object is loaded
  std::vector<uintptr_t> sites;
};

struct Scan {
  std::vector<ObjectSites> found;  // objects with sites
  std::vector<const void*> scanned;
  Status status = Status::Ok();
  PatchSummary summary;
};

// Scans the loaded objects not in `known`, except the vDSO and the runtime itself.
Scan ScanObjects(const std::vector<const void*>& known) {
  // dl_iterate_phdr's entries are valid during the callback only: copy them.
  std::vector<dl_phdr_info> infos;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        static_cast<std::vector<dl_phdr_info>*>(data)->push_back(*info);
        return 0;
      },
      &infos);
  Scan scan;
  uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
  scan.found.reserve(infos.size());
  for (const dl_phdr_info& info : infos) {
    const void* id = info.dlpi_phdr;
    if (std::find(known.begin(), known.end(), id) != known.end()) continue;
    scan.scanned.push_back(id);
    if (info.dlpi_addr == vdso || SegmentOf(info, g_skip_address) >= 0) continue;
    ++scan.summary.objects;
    std::vector<uintptr_t> sites;
    SiteScanResult result = FindSystemCallSites(info, &sites);
    if (!result.resolved) {
      char where[64];
      (void)snprintf(where, sizeof(where), "0x%" PRIxPTR, result.candidate - info.dlpi_addr);
      scan.status = {StatusCode::kUnsupported,
                     std::string("the code of ") +
                         (info.dlpi_name[0] != '\0' ? info.dlpi_name : "the program") + " at " +
                         where + " cannot be checked for system calls: " + result.why};
      return scan;
    }
    if (!sites.empty()) scan.found.push_back({info, std::move(sites)});
  }
  return scan;
}

int SegmentProtection(const dl_phdr_info& object, int segment) {
  if (segment < 0) return PROT_READ | PROT_EXEC;
  const ElfW(Phdr)& ph = object.dlpi_phdr[segment];
  return ((ph.p_flags & PF_R) != 0 ? PROT_READ : 0) | ((ph.p_flags & PF_W) != 0 ? PROT_WRITE : 0) |
         ((ph.p_flags & PF_X) != 0 ? PROT_EXEC : 0);
}

// Turns each site into kPatchedSiteBytes: the pages from the first site to the last are made
// writable at once (one mprotect each way per segment; a page apiece would split and merge the
// mapping 2 x sites times), then restored. Only the pages written become private copies.
// Not instrumented by ThreadSanitizer: it writes code pages, whose shadow is not writable.
__attribute__((no_sanitize("thread"))) Status PatchSites(const ObjectSites& object,
                                                         PatchSummary* summary) {
  const uintptr_t page = 4096;
  size_t i = 0;
  while (i < object.sites.size()) {
    // The sites of one segment (one mapping, one protection).
    int segment = SegmentOf(object.object, object.sites[i]);
    int protection = SegmentProtection(object.object, segment);
    size_t end = i + 1;
    while (end < object.sites.size() && SegmentOf(object.object, object.sites[end]) == segment) {
      ++end;
    }
    uintptr_t first_page = object.sites[i] & ~(page - 1);
    uintptr_t last_page_end = (object.sites[end - 1] + 2 + page - 1) & ~(page - 1);
    long length = static_cast<long>(last_page_end - first_page);
    long raw =
        RawSyscall3(SYS_mprotect, static_cast<long>(first_page), length, protection | PROT_WRITE);
    if (RawSyscallFailed(raw)) {
      return {StatusCode::kUnsupported,
              std::string("the system calls of ") + object.object.dlpi_name +
                  " cannot be patched: mprotect: " + strerror(static_cast<int>(-raw))};
    }
    g_any_patched.store(true);
    uintptr_t last_written = 0;
    for (; i < end; ++i) {
      // First byte first: in between, a thread running the site faults on `int $5` and the
      // handler runs it again (`0f 81`, the other order, is a jump).
      auto* code = reinterpret_cast<volatile uint8_t*>(object.sites[i]);
      code[0] = kPatchedSiteBytes[0];
      code[1] = kPatchedSiteBytes[1];
      for (uintptr_t p = object.sites[i] & ~(page - 1); p <= object.sites[i] + 1; p += page) {
        if (p != last_written) ++summary->pages;
        last_written = p;
      }
    }
    RawSyscall3(SYS_mprotect, static_cast<long>(first_page), length, protection);
  }
  summary->sites += object.sites.size();
  return Status::Ok();
}

// Publishes the table of every record's sites.
void Publish() {
  std::vector<PatchedSite> sites;
  for (const Record& record : *g_records)
    sites.insert(sites.end(), record.sites.begin(), record.sites.end());
  std::sort(sites.begin(), sites.end(),
            [](const PatchedSite& a, const PatchedSite& b) { return a.address < b.address; });
  auto* copy = new PatchedSite[sites.size()];
  std::copy(sites.begin(), sites.end(), copy);
  g_table.store(new SiteTable{sites.size(), copy}, std::memory_order_release);
}

// Records the objects of `scan`, publishes the table with their sites, then patches them. In
// this order: a patched site raises SIGSEGV from the next instruction on (the allocations here
// call brk), and a site in the table that is not patched yet is never looked up.
Status RecordPublishAndPatch(const Scan& scan, PatchSummary* summary) {
  for (const void* id : scan.scanned) {
    Record record{id, {}};
    for (const ObjectSites& object : scan.found) {
      if (object.object.dlpi_phdr != id) continue;
      for (uintptr_t address : object.sites) {
        const auto* code = reinterpret_cast<const uint8_t*>(address);
        record.sites.push_back({address, code[0] == 0x0f && code[1] == 0x05
                                             ? PatchedKind::kSyscall
                                             : PatchedKind::kLegacy});
      }
    }
    g_records->push_back(std::move(record));
  }
  Publish();
  for (const ObjectSites& object : scan.found) {
    if (Status status = PatchSites(object, summary); !status.ok()) return status;
  }
  return Status::Ok();
}

std::vector<const void*> RecordedIds() {
  std::vector<const void*> ids;
  for (const Record& record : *g_records) ids.push_back(record.id);
  return ids;
}

}  // namespace

Status PatchLoadedObjects(uintptr_t skip_address, PatchSummary* summary) {
  std::lock_guard lock(g_objects_mutex);
  if (g_records != nullptr) return Status::Ok();
  g_skip_address = skip_address;
  Scan scan = ScanObjects({});
  *summary = scan.summary;
  if (!scan.status.ok()) return scan.status;
  g_records = new std::vector<Record>();
  return RecordPublishAndPatch(scan, summary);
}

Status PatchNewlyLoadedObjects() {
  std::lock_guard lock(g_objects_mutex);
  if (g_records == nullptr) return Status::Ok();
  Scan scan = ScanObjects(RecordedIds());
  if (!scan.status.ok()) return scan.status;
  PatchSummary summary;
  return RecordPublishAndPatch(scan, &summary);
}

void ForgetUnloadedObjects() {
  std::lock_guard lock(g_objects_mutex);
  if (g_records == nullptr) return;
  std::vector<const void*> loaded;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        static_cast<std::vector<const void*>*>(data)->push_back(info->dlpi_phdr);
        return 0;
      },
      &loaded);
  size_t before = g_records->size();
  std::erase_if(*g_records, [&](const Record& record) {
    return std::find(loaded.begin(), loaded.end(), record.id) == loaded.end();
  });
  if (g_records->size() != before) Publish();
}

bool SitesPatched() {
  return g_any_patched.load();
}

const PatchedSite* FindPatchedSite(uintptr_t address) {
  const SiteTable* table = g_table.load(std::memory_order_acquire);
  if (table == nullptr) return nullptr;
  size_t low = 0;
  size_t high = table->count;
  while (low < high) {
    size_t mid = low + (high - low) / 2;
    if (table->sites[mid].address < address) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return low < table->count && table->sites[low].address == address ? &table->sites[low] : nullptr;
}

}  // namespace cove::runtime
