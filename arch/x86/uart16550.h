// pvkit/arch/x86/uart16550.h — the 16550 UART at COM1, polled, for the hypervisor's own log.
//
// What it is: init (115200 8N1, FIFOs on) and blocking byte output on I/O port 0x3F8. The
// hypervisor uses it only for its own log; in the demo image a driver domain owns the UART
// through its I/O permission bitmap.
// How to use it: `Uart16550 uart; uart.init(); uart.write("hello\n");`
// Concurrency: not locked; callers serialise (the console layer holds a lock).
#pragma once

#include <cstddef>
#include <cstdint>

#include "pvkit/arch/x86/io.h"

namespace pvkit::x86 {

/// A 16550 UART at an I/O port base (the serial console).
class Uart16550 {
 public:
  static constexpr std::uint16_t kCom1 = 0x3F8;
  // Register offsets (named, per the 16550 data sheet).
  static constexpr std::uint16_t kData = 0, kIntEnable = 1, kFifoCtrl = 2, kLineCtrl = 3,
                                 kModemCtrl = 4, kLineStatus = 5;
  static constexpr std::uint8_t kLsrThrEmpty = 1 << 5;

  explicit constexpr Uart16550(std::uint16_t base = kCom1) : base_(base) {}

  /// Programs 115200 baud 8N1, interrupts off.
  void init() const {
    outb(base_ + kIntEnable, 0x00);
    outb(base_ + kLineCtrl, 0x80);  // DLAB
    outb(base_ + kData, 0x01);      // divisor 1: 115200 baud
    outb(base_ + kIntEnable, 0x00);
    outb(base_ + kLineCtrl, 0x03);  // 8N1
    outb(base_ + kFifoCtrl, 0xC7);
    outb(base_ + kModemCtrl, 0x03);
  }
  /// Writes one character (waits for the transmitter).
  void put(char c) const {
    for (int i = 0; i < 100000 && !(inb(base_ + kLineStatus) & kLsrThrEmpty); ++i) cpu_relax();
    outb(base_ + kData, static_cast<std::uint8_t>(c));
  }
  /// Writes `n` characters.
  void write(const char* s, std::size_t n) const {
    for (std::size_t i = 0; i < n; ++i) {
      if (s[i] == '\n') put('\r');
      put(s[i]);
    }
  }
  /// Writes a NUL-terminated string.
  void write(const char* s) const {
    while (*s) {
      if (*s == '\n') put('\r');
      put(*s++);
    }
  }

 private:
  std::uint16_t base_;
};

}  // namespace pvkit::x86
