// Descriptor, gate, TSS/I/O-bitmap and LAPIC register layouts (host).
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

#include <gtest/gtest.h>

#include "pvkit/arch/x86/apic/lapic.h"
#include "pvkit/arch/x86/cpu/idt.h"
#include "pvkit/arch/x86/cpu/segment.h"
#include "pvkit/arch/x86/cpu/tss.h"

namespace pvkit::x86 {
namespace {

TEST(Segments, SelectorFields) {
  EXPECT_EQ(kHvCs.raw(), 0xe008);
  EXPECT_EQ(kHvDs.raw(), 0xe010);
  EXPECT_EQ(kTss.raw(), 0xe040);
  EXPECT_EQ(kGuestCs64.rpl(), 3u);
  EXPECT_EQ(kGuestCs64.index(), kFirstReservedGdtEntry + 6);
  EXPECT_FALSE(kGuestCs64.ldt());
  EXPECT_TRUE(Selector{0x0007}.ldt());
}

TEST(Segments, FlatDescriptorsHaveTheKnownEncodings) {
  // The classic flat descriptors (accessed bit preset so the CPU never writes the GDT).
  EXPECT_EQ(SegmentDescriptor::code64(0).raw(), 0x00AF9B000000FFFFull);
  EXPECT_EQ(SegmentDescriptor::code64(3).raw(), 0x00AFFB000000FFFFull);
  EXPECT_EQ(SegmentDescriptor::data(0).raw(), 0x00CF93000000FFFFull);
  EXPECT_EQ(SegmentDescriptor::data(3).raw(), 0x00CFF3000000FFFFull);
  EXPECT_EQ(SegmentDescriptor::code32(3).raw(), 0x00CFFB000000FFFFull);
  const auto c = SegmentDescriptor::code64(3);
  EXPECT_TRUE(c.present() && c.executable() && c.long_mode() && !c.default32() && c.code_or_data());
  EXPECT_EQ(c.dpl(), 3u);
  EXPECT_EQ(c.limit(), 0xFFFFFu);
  EXPECT_EQ(c.base(), 0u);
}

TEST(Segments, TssDescriptorRoundTrips) {
  const std::uint64_t base = 0xFFFF82D012345678ull;
  const auto d = SystemDescriptor::tss64(base, TssBlock::kLimit);
  EXPECT_EQ(d.base(), base);
  EXPECT_EQ(d.limit(), TssBlock::kLimit);
  EXPECT_EQ(d.type(), SystemDescriptor::kTypeTss64Available);
  EXPECT_TRUE(d.present());
}

TEST(Segments, GdtLayout) {
  auto gdt = std::make_unique<Gdt>();
  gdt->init(0xFFFF82D000200000ull, TssBlock::kLimit);
  EXPECT_EQ(Gdt::limit(), kGdtEntries * 8 - 1);
  EXPECT_EQ(gdt->get(kHvCs).raw(), SegmentDescriptor::code64(0).raw());
  EXPECT_EQ(gdt->get(kHvDs).raw(), SegmentDescriptor::data(0).raw());
  EXPECT_EQ(gdt->get(kGuestCs64).raw(), SegmentDescriptor::code64(3).raw());
  EXPECT_EQ(gdt->get(kGuestCs32).raw(), SegmentDescriptor::code32(3).raw());
  EXPECT_EQ(gdt->get(kGuestDs).raw(), SegmentDescriptor::data(3).raw());
  EXPECT_EQ(gdt->entries[kTss.index()], SystemDescriptor::tss64(0xFFFF82D000200000ull, TssBlock::kLimit).low());
  EXPECT_EQ(gdt->entries[kTss.index() + 1], 0xFFFF82D0ull);
  // The guest-owned part starts empty: no descriptor a guest could use by accident.
  for (unsigned i = 0; i < kFirstReservedGdtEntry; ++i) ASSERT_EQ(gdt->entries[i], 0u) << i;
}

TEST(Idt, GateRoundTrips) {
  const std::uint64_t h = 0xFFFF82D000101230ull;
  const auto g = GateDescriptor::interrupt(h, kHvCs, 2, 3);
  EXPECT_EQ(g.offset(), h);
  EXPECT_EQ(g.selector(), kHvCs);
  EXPECT_EQ(g.ist(), 2u);
  EXPECT_EQ(g.dpl(), 3u);
  EXPECT_EQ(g.type(), GateDescriptor::kTypeInterruptGate);
  EXPECT_TRUE(g.present());
}

TEST(Idt, PvkitGatePolicy) {
  for (unsigned v = 0; v < 256; ++v) {
    const auto g = pvkit_gate_for(v, 0xFFFF82D000100000ull + v * 16);
    const bool want = v < 32 || v == kVecTimer || v == kVecIpi || v == kVecTlbFlush || v == kVecSpurious ||
                      v == 0x27 || v == 0x2F;
    EXPECT_EQ(g.present(), want) << v;
    if (!want) continue;
    EXPECT_EQ(g.dpl(), (v == 3 || v == 4) ? 3u : 0u) << v;
    EXPECT_EQ(g.ist(), v == 8 ? 1u : v == 2 ? 2u : v == 18 ? 3u : 0u) << v;
    EXPECT_EQ(g.selector(), kHvCs);
  }
}

TEST(IdtAdversarial, GuestSoftIntOnlyReachesBreakpointAndOverflow) {
  // A guest `int $N` must not reach any handler but #BP/#OF: every other gate is DPL 0 or
  // not present (the CPU raises #GP instead).
  for (unsigned v = 0; v < 256; ++v) {
    const auto g = pvkit_gate_for(v, 0x1000);
    if (g.present() && g.dpl() == 3) EXPECT_TRUE(v == kVecBreakpoint || v == kVecOverflow) << v;
  }
  EXPECT_FALSE(pvkit_gate_for(0x80, 0x1000).present());
  EXPECT_FALSE(pvkit_gate_for(0x82, 0x1000).present());
}

TEST(Idt, ErrorCodeVectors) {
  const std::array<unsigned, 10> with = {8, 10, 11, 12, 13, 14, 17, 21, 29, 30};
  for (unsigned v = 0; v < 32; ++v) {
    bool expect = false;
    for (unsigned w : with) expect = expect || w == v;
    EXPECT_EQ(exception_has_error_code(v), expect) << v;
  }
  EXPECT_STREQ(vector_mnemonic(14), "#PF");
  EXPECT_STREQ(vector_mnemonic(8), "#DF");
  EXPECT_STREQ(vector_mnemonic(0xF0), "IRQ");
}

TEST(Tss, LayoutAndLimit) {
  auto t = std::make_unique<TssBlock>();
  t->init();
  EXPECT_EQ(t->tss.iomap_base, 104);
  EXPECT_EQ(TssBlock::kLimit, 104u + 8192u);
  EXPECT_EQ(reinterpret_cast<std::uint8_t*>(&t->io) - reinterpret_cast<std::uint8_t*>(&t->tss), 104);
  EXPECT_EQ(t->io.trailing_byte(), 0xFF);
}

TEST(TssAdversarial, IoBitmapDeniesEverythingNotGranted) {
  auto t = std::make_unique<TssBlock>();
  t->init();
  for (std::uint32_t p = 0; p < IoBitmap::kPorts; ++p) ASSERT_FALSE(t->io.allowed(p)) << p;
  t->io.allow(0x3F8);
  t->io.allow(0x3FD);
  EXPECT_TRUE(t->io.access_allowed(0x3F8, 1));
  EXPECT_FALSE(t->io.access_allowed(0x3F8, 2));  // 0x3F9 is not granted
  EXPECT_FALSE(t->io.access_allowed(0x3F7, 2));
  EXPECT_FALSE(t->io.allowed(0x3F9));
  EXPECT_FALSE(t->io.allowed(0xF4));  // the debug-exit device
  t->io.allow(0xFFFF);
  EXPECT_TRUE(t->io.access_allowed(0xFFFF, 1));
  EXPECT_FALSE(t->io.access_allowed(0xFFFF, 2));  // the trailing byte stays 0xFF
  t->io.allow(0xFFF0, 1000);                      // clamped, must not touch the trailing byte
  EXPECT_EQ(t->io.trailing_byte(), 0xFF);
  t->io.deny(0x3F8);
  EXPECT_FALSE(t->io.allowed(0x3F8));
  EXPECT_TRUE(t->io.allowed(0x3FD));
  t->io.deny_all();
  EXPECT_FALSE(t->io.allowed(0x3FD));
}

TEST(Lapic, TimerAndIcrEncodings) {
  alignas(16) std::array<std::uint32_t, 1024> regs{};
  Lapic apic{regs.data()};
  apic.enable(kVecSpurious);
  EXPECT_EQ(regs[Lapic::kRegSpurious / 4], 0x1FFu);
  apic.start_periodic(kVecTimer, 12345, Lapic::Divide::k16);
  EXPECT_EQ(regs[Lapic::kRegTimerDivide / 4], 0x3u);
  EXPECT_EQ(regs[Lapic::kRegLvtTimer / 4], (1u << 17) | kVecTimer);
  EXPECT_EQ(regs[Lapic::kRegTimerInitial / 4], 12345u);
  apic.stop_timer();
  EXPECT_EQ(regs[Lapic::kRegLvtTimer / 4], 1u << 16);
  EXPECT_EQ(regs[Lapic::kRegTimerInitial / 4], 0u);
  regs[Lapic::kRegEoi / 4] = 0xDEAD;
  apic.eoi();
  EXPECT_EQ(regs[Lapic::kRegEoi / 4], 0u);
  apic.self_nmi();
  EXPECT_EQ(regs[Lapic::kRegIcrLow / 4], 0x44400u);  // NMI, assert, self
}

}  // namespace
}  // namespace pvkit::x86
