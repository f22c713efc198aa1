#pragma once
/// clock_gettime without the C library's wrapper: the kernel's own
/// __vdso_clock_gettime, looked up once in the vDSO image the kernel maps into
/// every process (found through AT_SYSINFO_EHDR; the kernel documents the
/// vDSO's symbols as a stable ABI in Documentation/ABI/stable/vdso, and Go's
/// runtime calls them the same way). A coarse read this way is a third cheaper
/// than through glibc, whose wrapper adds a call through the PLT and an
/// indirect one (figures in docs/benchmarks.md).
///
/// Anything unexpected falls back to ::clock_gettime: no vDSO (valgrind hides
/// it), an image that is not what this parser expects, another architecture,
/// a memory sanitizer (it cannot see the vDSO's writes), or an error return.

#include <ctime>

#if defined(__linux__) && defined(__x86_64__) && defined(__has_include)
#if __has_include(<sys/auxv.h>) && __has_include(<elf.h>)
#define KEYPOOL_VDSO_CLOCK 1
#endif
#endif
#if defined(__has_feature)
#if __has_feature(memory_sanitizer)
#undef KEYPOOL_VDSO_CLOCK
#endif
#endif

#ifdef KEYPOOL_VDSO_CLOCK
#include <elf.h>
#include <sys/auxv.h>

#include <cstdint>
#include <cstring>
#endif

namespace keypool::clock::detail {

using clock_gettime_fn = int (*)(clockid_t, timespec*);

#ifdef KEYPOOL_VDSO_CLOCK
/// The vDSO's __vdso_clock_gettime, or null. Reads the image's program
/// headers and its dynamic symbol table (DT_HASH gives the symbol count), as
/// the kernel's own example parser (tools/testing/selftests/vDSO) does.
inline clock_gettime_fn find_vdso_clock_gettime() noexcept {
  const auto base = static_cast<std::uintptr_t>(::getauxval(AT_SYSINFO_EHDR));
  if (base == 0) return nullptr;
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
  if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) return nullptr;
  const auto* ph = reinterpret_cast<const Elf64_Phdr*>(base + eh->e_phoff);
  std::uintptr_t load_offset = 0;
  bool loaded = false;
  const Elf64_Dyn* dyn = nullptr;
  for (unsigned i = 0; i < eh->e_phnum; ++i) {
    if (ph[i].p_type == PT_LOAD && !loaded) {
      load_offset = base + ph[i].p_offset - ph[i].p_vaddr;
      loaded = true;
    } else if (ph[i].p_type == PT_DYNAMIC) {
      dyn = reinterpret_cast<const Elf64_Dyn*>(base + ph[i].p_offset);
    }
  }
  if (!loaded || dyn == nullptr) return nullptr;
  const char* strtab = nullptr;
  const Elf64_Sym* symtab = nullptr;
  const Elf64_Word* hash = nullptr;
  for (; dyn->d_tag != DT_NULL; ++dyn) {
    const std::uintptr_t at = dyn->d_un.d_ptr + load_offset;
    if (dyn->d_tag == DT_STRTAB) strtab = reinterpret_cast<const char*>(at);
    if (dyn->d_tag == DT_SYMTAB) symtab = reinterpret_cast<const Elf64_Sym*>(at);
    if (dyn->d_tag == DT_HASH) hash = reinterpret_cast<const Elf64_Word*>(at);
  }
  if (strtab == nullptr || symtab == nullptr || hash == nullptr) return nullptr;
  const Elf64_Word symbols = hash[1];  // nchain: one entry per symbol
  for (Elf64_Word i = 0; i < symbols; ++i) {
    const Elf64_Sym& s = symtab[i];
    const unsigned bind = ELF64_ST_BIND(s.st_info);
    if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK))
      continue;
    if (std::strcmp(strtab + s.st_name, "__vdso_clock_gettime") == 0)
      return reinterpret_cast<clock_gettime_fn>(load_offset + s.st_value);
  }
  return nullptr;
}

/// Null until this variable's dynamic initialisation has run; a read before
/// then (another static initialiser) takes the fallback.
inline const clock_gettime_fn vdso_clock_gettime = find_vdso_clock_gettime();
#endif

/// ::clock_gettime(id, &ts), through the vDSO directly when it can.
inline void gettime(clockid_t id, timespec& ts) noexcept {
#ifdef KEYPOOL_VDSO_CLOCK
  if (const clock_gettime_fn f = vdso_clock_gettime; f != nullptr && f(id, &ts) == 0) [[likely]]
    return;
#endif
  ::clock_gettime(id, &ts);
}

}  // namespace keypool::clock::detail
