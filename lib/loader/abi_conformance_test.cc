// Checks pvkit's own boot-ABI and ELF definitions against Xen's public headers and <elf.h>:
// every size, field offset and constant value the loader uses.
#include <elf.h>
#include <xen/elfnote.h>
#include <xen/features.h>
#include <xen/xen.h>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

#include "pvkit/loader/address_space.h"
#include "pvkit/loader/elf64.h"
#include "pvkit/loader/hypercall_page.h"
#include "pvkit/loader/pv_image.h"
#include "pvkit/loader/xen_boot_abi.h"
#include "pvkit/loader/xen_features.h"

namespace pvkit::loader {
namespace {

#define EXPECT_SAME_OFFSET(ours, theirs, field) \
  EXPECT_EQ(offsetof(ours, field), offsetof(theirs, field)) << #field

TEST(AbiConformance, StartInfoLayout) {
  using Ours = xen::StartInfo;
  using Theirs = ::start_info_t;
  EXPECT_EQ(sizeof(Ours), sizeof(Theirs));
  EXPECT_SAME_OFFSET(Ours, Theirs, magic);
  EXPECT_SAME_OFFSET(Ours, Theirs, nr_pages);
  EXPECT_SAME_OFFSET(Ours, Theirs, shared_info);
  EXPECT_SAME_OFFSET(Ours, Theirs, flags);
  EXPECT_SAME_OFFSET(Ours, Theirs, store_mfn);
  EXPECT_SAME_OFFSET(Ours, Theirs, store_evtchn);
  EXPECT_SAME_OFFSET(Ours, Theirs, console);
  EXPECT_SAME_OFFSET(Ours, Theirs, pt_base);
  EXPECT_SAME_OFFSET(Ours, Theirs, nr_pt_frames);
  EXPECT_SAME_OFFSET(Ours, Theirs, mfn_list);
  EXPECT_SAME_OFFSET(Ours, Theirs, mod_start);
  EXPECT_SAME_OFFSET(Ours, Theirs, mod_len);
  EXPECT_SAME_OFFSET(Ours, Theirs, cmd_line);
  EXPECT_SAME_OFFSET(Ours, Theirs, first_p2m_pfn);
  EXPECT_SAME_OFFSET(Ours, Theirs, nr_p2m_frames);
  EXPECT_EQ(sizeof(Ours::magic), sizeof(Theirs::magic));
  EXPECT_EQ(sizeof(Ours::cmd_line), sizeof(Theirs::cmd_line));
  EXPECT_EQ(sizeof(Ours::console), sizeof(Theirs::console));
  EXPECT_EQ(offsetof(Ours, console) + offsetof(xen::StartInfoConsole, domu) +
                offsetof(xen::StartInfoConsoleDomU, evtchn),
            offsetof(Theirs, console.domU.evtchn));
  EXPECT_EQ(offsetof(Ours, console) + offsetof(xen::StartInfoConsoleDomU, mfn),
            offsetof(Theirs, console.domU.mfn));
  EXPECT_EQ(offsetof(Ours, console) + offsetof(xen::StartInfoConsoleDom0, info_size),
            offsetof(Theirs, console.dom0.info_size));
  EXPECT_EQ(xen::kMaxGuestCmdline, std::size_t{MAX_GUEST_CMDLINE});
}

TEST(AbiConformance, StartInfoFlagsAndMagic) {
  EXPECT_EQ(xen::kSifPrivileged, std::uint32_t{SIF_PRIVILEGED});
  EXPECT_EQ(xen::kSifInitDomain, std::uint32_t{SIF_INITDOMAIN});
  EXPECT_EQ(xen::kSifMultibootMod, std::uint32_t{SIF_MULTIBOOT_MOD});
  EXPECT_EQ(xen::kSifModStartPfn, std::uint32_t{SIF_MOD_START_PFN});
  EXPECT_EQ(xen::kSifVirtP2m4Tools, std::uint32_t{SIF_VIRT_P2M_4TOOLS});
  EXPECT_EQ(xen::kSifPmMask, std::uint32_t{SIF_PM_MASK});
  // The magic is "xen-<version>-<platform>" of the 3.0 x86-64 ABI and fits the field.
  EXPECT_STREQ(xen::kStartInfoMagic, "xen-3.0-x86_64");
  EXPECT_LT(std::strlen(xen::kStartInfoMagic), sizeof(::start_info_t::magic));
}

TEST(AbiConformance, ElfNoteNumbers) {
  EXPECT_EQ(xen::kElfNoteInfo, std::uint32_t{XEN_ELFNOTE_INFO});
  EXPECT_EQ(xen::kElfNoteEntry, std::uint32_t{XEN_ELFNOTE_ENTRY});
  EXPECT_EQ(xen::kElfNoteHypercallPage, std::uint32_t{XEN_ELFNOTE_HYPERCALL_PAGE});
  EXPECT_EQ(xen::kElfNoteVirtBase, std::uint32_t{XEN_ELFNOTE_VIRT_BASE});
  EXPECT_EQ(xen::kElfNotePaddrOffset, std::uint32_t{XEN_ELFNOTE_PADDR_OFFSET});
  EXPECT_EQ(xen::kElfNoteXenVersion, std::uint32_t{XEN_ELFNOTE_XEN_VERSION});
  EXPECT_EQ(xen::kElfNoteGuestOs, std::uint32_t{XEN_ELFNOTE_GUEST_OS});
  EXPECT_EQ(xen::kElfNoteGuestVersion, std::uint32_t{XEN_ELFNOTE_GUEST_VERSION});
  EXPECT_EQ(xen::kElfNoteLoader, std::uint32_t{XEN_ELFNOTE_LOADER});
  EXPECT_EQ(xen::kElfNotePaeMode, std::uint32_t{XEN_ELFNOTE_PAE_MODE});
  EXPECT_EQ(xen::kElfNoteFeatures, std::uint32_t{XEN_ELFNOTE_FEATURES});
  EXPECT_EQ(xen::kElfNoteBsdSymtab, std::uint32_t{XEN_ELFNOTE_BSD_SYMTAB});
  EXPECT_EQ(xen::kElfNoteHvStartLow, std::uint32_t{XEN_ELFNOTE_HV_START_LOW});
  EXPECT_EQ(xen::kElfNoteL1MfnValid, std::uint32_t{XEN_ELFNOTE_L1_MFN_VALID});
  EXPECT_EQ(xen::kElfNoteSuspendCancel, std::uint32_t{XEN_ELFNOTE_SUSPEND_CANCEL});
  EXPECT_EQ(xen::kElfNoteInitP2m, std::uint32_t{XEN_ELFNOTE_INIT_P2M});
  EXPECT_EQ(xen::kElfNoteModStartPfn, std::uint32_t{XEN_ELFNOTE_MOD_START_PFN});
  EXPECT_EQ(xen::kElfNoteSupportedFeatures, std::uint32_t{XEN_ELFNOTE_SUPPORTED_FEATURES});
  EXPECT_EQ(xen::kElfNotePhys32Entry, std::uint32_t{XEN_ELFNOTE_PHYS32_ENTRY});
  EXPECT_EQ(xen::kElfNoteMax, std::uint32_t{XEN_ELFNOTE_MAX});
}

TEST(AbiConformance, FeatureNamesMatchXenfeatBits) {
  struct {
    const char* name;
    int bit;
  } cases[] = {
      {"writable_page_tables", XENFEAT_writable_page_tables},
      {"writable_descriptor_tables", XENFEAT_writable_descriptor_tables},
      {"auto_translated_physmap", XENFEAT_auto_translated_physmap},
      {"supervisor_mode_kernel", XENFEAT_supervisor_mode_kernel},
      {"pae_pgdir_above_4gb", XENFEAT_pae_pgdir_above_4gb},
      {"mmu_pt_update_preserve_ad", XENFEAT_mmu_pt_update_preserve_ad},
      {"highmem_assist", XENFEAT_highmem_assist},
      {"gnttab_map_avail_bits", XENFEAT_gnttab_map_avail_bits},
      {"hvm_callback_vector", XENFEAT_hvm_callback_vector},
      {"hvm_safe_pvclock", XENFEAT_hvm_safe_pvclock},
      {"hvm_pirqs", XENFEAT_hvm_pirqs},
      {"dom0", XENFEAT_dom0},
      {"grant_map_identity", 12},  // deprecated: commented out in features.h
      {"memory_op_vnode_supported", XENFEAT_memory_op_vnode_supported},
      {"ARM_SMCCC_supported", XENFEAT_ARM_SMCCC_supported},
      {"linux_rsdp_unrestricted", XENFEAT_linux_rsdp_unrestricted},
      {"not_direct_mapped", XENFEAT_not_direct_mapped},
      {"direct_mapped", XENFEAT_direct_mapped},
  };
  EXPECT_EQ(std::size(cases), kXenFeatureNames.size());
  for (const auto& c : cases) {
    EXPECT_EQ(feature_bit(c.name, std::strlen(c.name)), c.bit) << c.name;
  }
  EXPECT_EQ(kRefusedRequiredFeatures, (1u << XENFEAT_auto_translated_physmap) |
                                          (1u << XENFEAT_supervisor_mode_kernel));
}

TEST(AbiConformance, HypervisorHoleAndIretNumber) {
  EXPECT_EQ(kHypervisorHoleStart, std::uint64_t{__HYPERVISOR_VIRT_START});
  EXPECT_EQ(kHypervisorHoleEnd, std::uint64_t{__HYPERVISOR_VIRT_END});
  EXPECT_EQ(kIretHypercall, std::uint32_t{__HYPERVISOR_iret});
  EXPECT_EQ(kHypercallStubs, 128u);
}

TEST(AbiConformance, Elf64LayoutsMatchElfH) {
  EXPECT_EQ(sizeof(elf::FileHeader), sizeof(Elf64_Ehdr));
  EXPECT_EQ(offsetof(elf::FileHeader, entry), offsetof(Elf64_Ehdr, e_entry));
  EXPECT_EQ(offsetof(elf::FileHeader, ident), offsetof(Elf64_Ehdr, e_ident));
  EXPECT_EQ(offsetof(elf::FileHeader, type), offsetof(Elf64_Ehdr, e_type));
  EXPECT_EQ(offsetof(elf::FileHeader, machine), offsetof(Elf64_Ehdr, e_machine));
  EXPECT_EQ(offsetof(elf::FileHeader, version), offsetof(Elf64_Ehdr, e_version));
  EXPECT_EQ(offsetof(elf::FileHeader, phoff), offsetof(Elf64_Ehdr, e_phoff));
  EXPECT_EQ(offsetof(elf::FileHeader, shoff), offsetof(Elf64_Ehdr, e_shoff));
  EXPECT_EQ(offsetof(elf::FileHeader, flags), offsetof(Elf64_Ehdr, e_flags));
  EXPECT_EQ(offsetof(elf::FileHeader, ehsize), offsetof(Elf64_Ehdr, e_ehsize));
  EXPECT_EQ(offsetof(elf::FileHeader, phentsize), offsetof(Elf64_Ehdr, e_phentsize));
  EXPECT_EQ(offsetof(elf::FileHeader, phnum), offsetof(Elf64_Ehdr, e_phnum));
  EXPECT_EQ(offsetof(elf::FileHeader, shentsize), offsetof(Elf64_Ehdr, e_shentsize));
  EXPECT_EQ(offsetof(elf::FileHeader, shnum), offsetof(Elf64_Ehdr, e_shnum));
  EXPECT_EQ(offsetof(elf::FileHeader, shstrndx), offsetof(Elf64_Ehdr, e_shstrndx));

  EXPECT_EQ(sizeof(elf::ProgramHeader), sizeof(Elf64_Phdr));
  EXPECT_EQ(offsetof(elf::ProgramHeader, type), offsetof(Elf64_Phdr, p_type));
  EXPECT_EQ(offsetof(elf::ProgramHeader, flags), offsetof(Elf64_Phdr, p_flags));
  EXPECT_EQ(offsetof(elf::ProgramHeader, offset), offsetof(Elf64_Phdr, p_offset));
  EXPECT_EQ(offsetof(elf::ProgramHeader, vaddr), offsetof(Elf64_Phdr, p_vaddr));
  EXPECT_EQ(offsetof(elf::ProgramHeader, paddr), offsetof(Elf64_Phdr, p_paddr));
  EXPECT_EQ(offsetof(elf::ProgramHeader, filesz), offsetof(Elf64_Phdr, p_filesz));
  EXPECT_EQ(offsetof(elf::ProgramHeader, memsz), offsetof(Elf64_Phdr, p_memsz));
  EXPECT_EQ(offsetof(elf::ProgramHeader, align), offsetof(Elf64_Phdr, p_align));

  EXPECT_EQ(sizeof(elf::SectionHeader), sizeof(Elf64_Shdr));
  EXPECT_EQ(offsetof(elf::SectionHeader, name), offsetof(Elf64_Shdr, sh_name));
  EXPECT_EQ(offsetof(elf::SectionHeader, type), offsetof(Elf64_Shdr, sh_type));
  EXPECT_EQ(offsetof(elf::SectionHeader, offset), offsetof(Elf64_Shdr, sh_offset));
  EXPECT_EQ(offsetof(elf::SectionHeader, size), offsetof(Elf64_Shdr, sh_size));
  EXPECT_EQ(offsetof(elf::SectionHeader, entsize), offsetof(Elf64_Shdr, sh_entsize));

  EXPECT_EQ(sizeof(elf::NoteHeader), sizeof(Elf64_Nhdr));
  EXPECT_EQ(offsetof(elf::NoteHeader, type), offsetof(Elf64_Nhdr, n_type));

  EXPECT_EQ(elf::kClass64, ELFCLASS64);
  EXPECT_EQ(elf::kDataLsb, ELFDATA2LSB);
  EXPECT_EQ(elf::kVersionCurrent, EV_CURRENT);
  EXPECT_EQ(elf::kTypeExec, ET_EXEC);
  EXPECT_EQ(elf::kMachineX86_64, EM_X86_64);
  EXPECT_EQ(elf::kPnXnum, PN_XNUM);
  EXPECT_EQ(elf::kShnLoReserve, SHN_LORESERVE);
  EXPECT_EQ(elf::kPtLoad, std::uint32_t{PT_LOAD});
  EXPECT_EQ(elf::kPtNote, std::uint32_t{PT_NOTE});
  EXPECT_EQ(elf::kPfX, std::uint32_t{PF_X});
  EXPECT_EQ(elf::kPfW, std::uint32_t{PF_W});
  EXPECT_EQ(elf::kPfR, std::uint32_t{PF_R});
  EXPECT_EQ(elf::kShtStrtab, std::uint32_t{SHT_STRTAB});
  EXPECT_EQ(elf::kShtNote, std::uint32_t{SHT_NOTE});
  EXPECT_EQ(elf::kShtNobits, std::uint32_t{SHT_NOBITS});
  EXPECT_EQ(elf::kIdentClass, unsigned{EI_CLASS});
  EXPECT_EQ(elf::kIdentData, unsigned{EI_DATA});
  EXPECT_EQ(elf::kIdentVersion, unsigned{EI_VERSION});
}

}  // namespace
}  // namespace pvkit::loader
