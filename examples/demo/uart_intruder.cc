// uart_intruder — a guest that tries to drive the UART itself (`outb` to COM1) while the
// driver domain owns it. COM1's ports are open in the TSS I/O bitmap only while the driver
// domain runs, so the `outb` takes #GP in ring 3; without a trap table that crashes this
// domain, and only it. Reaching the line after the `outb` means the protection failed.
#include <cstdint>

#include "pvkit/guest/console.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/start_info.h"

namespace g = pvkit::guest;

int guest_main(const g::xen::StartInfo&) {
  g::print("uart_intruder: writing to COM1 (port 0x3f8) directly, as if the UART were mine\n");
  asm volatile("outb %0, %1" : : "a"(static_cast<std::uint8_t>('!')), "Nd"(static_cast<std::uint16_t>(0x3F8)));
  g::print("uart_intruder: FAILURE (the write to COM1 was allowed)\n");
  return 1;
}
