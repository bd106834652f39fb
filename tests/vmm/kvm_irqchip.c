// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's in-kernel interrupt controllers, end to end: the PIC and the PIT,
 * the local APIC's timer, IPIs with INIT and SIPI between two vCPUs in
 * their threads, the IOAPIC under KVM_IRQ_LINE_STATUS, KVM_SIGNAL_MSI and
 * MSI routes, the split irqchip's EOI exits and ExtINT, and the errnos of
 * bad input. One VM per scenario, small guests assembled below as bytes
 * (real mode, or flat 32-bit protected mode where they reach the APIC at
 * 0xfee00000 and the IOAPIC at 0xfec00000: RAM is the first MiB only).
 * Written only against <linux/kvm.h>; the device path is its only
 * argument. It prints counts, vectors, registers and return values, never
 * timings, and the tests require the same lines from /dev/axvm and
 * /dev/kvm (tests/expected/kvm_irqchip.out).
 *
 * The guests talk through ports: a byte to 0xe9 is a character, a dword
 * to 0xea a value, anything to 0xf4 the end. With an in-kernel local APIC
 * a HLT never reaches userspace, so the VMM only re-enters a guest that
 * has something to take; a watchdog (SIGALRM) ends a KVM_RUN that never
 * comes back.
 */
#include "vmm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE 0x100000 /* RAM at 0: nothing at 0xfec00000 or 0xfee00000 */
#define COUNT 0xf00       /* the guests' tick counter (a byte) */
#define FLAG 0xf01        /* and a flag */
#define IDTR 0x4f0        /* pseudo-descriptors the guests load */
#define GDTR 0x4f8
#define GDT 0x500         /* null, code (8), data (0x10), flat */
#define IDT 0x600         /* 256 interrupt gates */
#define STACK 0x8000
#define PORT_CHAR 0xe9
#define PORT_VALUE 0xea
#define PORT_DONE 0xf4
#define WATCHDOG 20       /* seconds for one KVM_RUN or one wait */

/* ---- The guests (addresses in the comments) ---- */

/* Scenario pic_pit, real mode: the PIC at vector 0x20 with IRQ0 alone
 * unmasked, PIT channel 0 periodic at ~1 kHz, then STI; HLT until the
 * handler counted five ticks. */
static const uint8_t pic_pit_main[] = {
	0xfa,                               /* 1000 cli */
	0xb0, 0x11,                         /* 1001 mov al,0x11 */
	0xe6, 0x20,                         /* 1003 out 0x20,al */
	0xb0, 0x20,                         /* 1005 mov al,0x20 */
	0xe6, 0x21,                         /* 1007 out 0x21,al */
	0xb0, 0x04,                         /* 1009 mov al,0x4 */
	0xe6, 0x21,                         /* 100b out 0x21,al */
	0xb0, 0x01,                         /* 100d mov al,0x1 */
	0xe6, 0x21,                         /* 100f out 0x21,al */
	0xb0, 0xfe,                         /* 1011 mov al,0xfe */
	0xe6, 0x21,                         /* 1013 out 0x21,al */
	0xb0, 0x34,                         /* 1015 mov al,0x34 */
	0xe6, 0x43,                         /* 1017 out 0x43,al */
	0xb0, 0xa9,                         /* 1019 mov al,0xa9 */
	0xe6, 0x40,                         /* 101b out 0x40,al */
	0xb0, 0x04,                         /* 101d mov al,0x4 */
	0xe6, 0x40,                         /* 101f out 0x40,al */
	0xfb,                               /* 1021 wait: sti */
	0xf4,                               /* 1022 hlt */
	0xfa,                               /* 1023 cli */
	0x80, 0x3e, 0x00, 0x0f, 0x05,       /* 1024 cmp byte [0xf00],0x5 */
	0x72, 0xf6,                         /* 1029 jb 0x1021 */
	0xb0, 0xff,                         /* 102b mov al,0xff */
	0xe6, 0x21,                         /* 102d out 0x21,al */
	0xe6, 0xf4,                         /* 102f out 0xf4,al */
};
/* IRQ0 (vector 0x20): the tick's number while it is one of the first five,
 * then the PIC's EOI. */
static const uint8_t pic_pit_irq0[] = {
	0x50,                               /* 1100 push ax */
	0xfe, 0x06, 0x00, 0x0f,             /* 1101 inc byte [0xf00] */
	0x80, 0x3e, 0x00, 0x0f, 0x05,       /* 1105 cmp byte [0xf00],0x5 */
	0x77, 0x07,                         /* 110a ja 0x1113 */
	0xa0, 0x00, 0x0f,                   /* 110c mov al,[0xf00] */
	0x04, 0x30,                         /* 110f add al,'0' */
	0xe6, 0xe9,                         /* 1111 out 0xe9,al */
	0xb0, 0x20,                         /* 1113 eoi: mov al,0x20 */
	0xe6, 0x20,                         /* 1115 out 0x20,al */
	0x58,                               /* 1117 pop ax */
	0xcf,                               /* 1118 iret */
};
/* Scenario lapic_timer, protected mode: the version register; the APIC
 * enabled, its timer periodic (vector 0x40) every 1 ms until five ticks,
 * stopped; LVTT; then a one-shot (vector 0x41) and TMCCT after it fired. */
static const uint8_t timer_main[] = {
	0xbb, 0x00, 0x00, 0xe0, 0xfe,       /* 1000 mov ebx,0xfee00000 */
	0x8b, 0x43, 0x30,                   /* 1005 mov eax,dword [ebx+0x30] */
	0xe7, 0xea,                         /* 1008 out 0xea,eax */
	0xc7, 0x83, 0xf0, 0x00, 0x00, 0x00, 0xff, 0x01, 0x00, 0x00, /* 100a mov dword [ebx+0xf0],0x1ff */
	0xc7, 0x83, 0xe0, 0x03, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, /* 1014 mov dword [ebx+0x3e0],0xb */
	0xc7, 0x83, 0x20, 0x03, 0x00, 0x00, 0x40, 0x00, 0x02, 0x00, /* 101e mov dword [ebx+0x320],0x20040 */
	0xc7, 0x83, 0x80, 0x03, 0x00, 0x00, 0x40, 0x42, 0x0f, 0x00, /* 1028 mov dword [ebx+0x380],0xf4240 */
	0xfb,                               /* 1032 periodic: sti */
	0xf4,                               /* 1033 hlt */
	0xfa,                               /* 1034 cli */
	0x80, 0x3d, 0x00, 0x0f, 0x00, 0x00, 0x05, /* 1035 cmp byte [0xf00],0x5 */
	0x72, 0xf4,                         /* 103c jb 0x1032 */
	0xc7, 0x83, 0x80, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 103e mov dword [ebx+0x380],0x0 */
	0x8b, 0x83, 0x20, 0x03, 0x00, 0x00, /* 1048 mov eax,dword [ebx+0x320] */
	0xe7, 0xea,                         /* 104e out 0xea,eax */
	0xc7, 0x83, 0x20, 0x03, 0x00, 0x00, 0x41, 0x00, 0x00, 0x00, /* 1050 mov dword [ebx+0x320],0x41 */
	0xc7, 0x83, 0x80, 0x03, 0x00, 0x00, 0x20, 0xa1, 0x07, 0x00, /* 105a mov dword [ebx+0x380],0x7a120 */
	0xfb,                               /* 1064 oneshot: sti */
	0xf4,                               /* 1065 hlt */
	0xfa,                               /* 1066 cli */
	0x80, 0x3d, 0x01, 0x0f, 0x00, 0x00, 0x00, /* 1067 cmp byte [0xf01],0x0 */
	0x74, 0xf4,                         /* 106e je 0x1064 */
	0x8b, 0x83, 0x90, 0x03, 0x00, 0x00, /* 1070 mov eax,dword [ebx+0x390] */
	0xe7, 0xea,                         /* 1076 out 0xea,eax */
	0xe6, 0xf4,                         /* 1078 out 0xf4,al */
};
/* Vector 0x40: the tick's number while one of the first five; EOI. */
static const uint8_t timer_periodic[] = {
	0x50,                               /* 1100 push eax */
	0xfe, 0x05, 0x00, 0x0f, 0x00, 0x00, /* 1101 inc byte [0xf00] */
	0x80, 0x3d, 0x00, 0x0f, 0x00, 0x00, 0x05, /* 1107 cmp byte [0xf00],0x5 */
	0x77, 0x09,                         /* 110e ja 0x1119 */
	0xa0, 0x00, 0x0f, 0x00, 0x00,       /* 1110 mov al,[0xf00] */
	0x04, 0x30,                         /* 1115 add al,'0' */
	0xe6, 0xe9,                         /* 1117 out 0xe9,al */
	0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00, /* 1119 eoi: mov dword [0xfee000b0],0x0 */
	0x58,                               /* 1123 pop eax */
	0xcf,                               /* 1124 iret */
};
/* Vector 0x41: the one-shot fired. */
static const uint8_t timer_oneshot[] = {
	0x50,                               /* 1140 push eax */
	0xc6, 0x05, 0x01, 0x0f, 0x00, 0x00, 0x01, /* 1141 mov byte [0xf01],0x1 */
	0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00, /* 1148 mov dword [0xfee000b0],0x0 */
	0xb0, 0x4f,                         /* 1152 mov al,'O' */
	0xe6, 0xe9,                         /* 1154 out 0xe9,al */
	0x58,                               /* 1156 pop eax */
	0xcf,                               /* 1157 iret */
};
/* Scenario ipi, vCPU 0: announces each step on port 0xe9, then sends
 * vCPU 1 (APIC ID 1) INIT (and the INIT level de-assert KVM ignores),
 * SIPI vector 2 (CS 0x0200, IP 0: ipi_ap_real) and a fixed IPI (vector
 * 0x50), and waits for vCPU 1's fixed IPI back (vector 0x51). */
static const uint8_t ipi_bsp[] = {
	0xbb, 0x00, 0x00, 0xe0, 0xfe,       /* 1000 mov ebx,0xfee00000 */
	0xc7, 0x83, 0xf0, 0x00, 0x00, 0x00, 0xff, 0x01, 0x00, 0x00, /* 1005 mov dword [ebx+0xf0],0x1ff */
	0xb0, 0x31,                         /* 100f mov al,'1' */
	0xe6, 0xe9,                         /* 1011 out 0xe9,al */
	0xc7, 0x83, 0x10, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* 1013 mov dword [ebx+0x310],0x1000000 */
	0xc7, 0x83, 0x00, 0x03, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, /* 101d mov dword [ebx+0x300],0x4500 */
	0xc7, 0x83, 0x00, 0x03, 0x00, 0x00, 0x00, 0x85, 0x00, 0x00, /* 1027 mov dword [ebx+0x300],0x8500 */
	0xb0, 0x32,                         /* 1031 mov al,'2' */
	0xe6, 0xe9,                         /* 1033 out 0xe9,al */
	0xc7, 0x83, 0x00, 0x03, 0x00, 0x00, 0x02, 0x46, 0x00, 0x00, /* 1035 mov dword [ebx+0x300],0x4602 */
	0xb0, 0x33,                         /* 103f mov al,'3' */
	0xe6, 0xe9,                         /* 1041 out 0xe9,al */
	0xc7, 0x83, 0x00, 0x03, 0x00, 0x00, 0x50, 0x40, 0x00, 0x00, /* 1043 mov dword [ebx+0x300],0x4050 */
	0xfb,                               /* 104d wait: sti */
	0xf4,                               /* 104e hlt */
	0xfa,                               /* 104f cli */
	0x80, 0x3d, 0x01, 0x0f, 0x00, 0x00, 0x00, /* 1050 cmp byte [0xf01],0x0 */
	0x74, 0xf4,                         /* 1057 je 0x104d */
	0xe6, 0xf4,                         /* 1059 out 0xf4,al */
};
/* Vector 0x51, on vCPU 0. */
static const uint8_t ipi_bsp_handler[] = {
	0x50,                               /* 1300 push eax */
	0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00, /* 1301 mov dword [0xfee000b0],0x0 */
	0xc6, 0x05, 0x01, 0x0f, 0x00, 0x00, 0x01, /* 130b mov byte [0xf01],0x1 */
	0xb0, 0x50,                         /* 1312 mov al,'P' */
	0xe6, 0xe9,                         /* 1314 out 0xe9,al */
	0x58,                               /* 1316 pop eax */
	0xcf,                               /* 1317 iret */
};
/* vCPU 1 after SIPI: 'A' in real mode, then into protected mode. */
static const uint8_t ipi_ap_real[] = {
	0xb0, 0x41,                         /* 2000 mov al,'A' */
	0xe6, 0xe9,                         /* 2002 out 0xe9,al */
	0xfa,                               /* 2004 cli */
	0x0f, 0x01, 0x16, 0xf8, 0x04,       /* 2005 lgdt [0x4f8] */
	0x0f, 0x20, 0xc0,                   /* 200a mov eax,cr0 */
	0x0c, 0x01,                         /* 200d or al,0x1 */
	0x0f, 0x22, 0xc0,                   /* 200f mov cr0,eax */
	0xea, 0x00, 0x21, 0x08, 0x00,       /* 2012 jmp 0x8:0x2100 */
};
/* vCPU 1: its IDT, its APIC enabled, 'R'eady, waits for an interrupt,
 * ends. */
static const uint8_t ipi_ap_prot[] = {
	0x66, 0xb8, 0x10, 0x00,             /* 2100 mov ax,0x10 */
	0x8e, 0xd8,                         /* 2104 mov ds,ax */
	0x8e, 0xc0,                         /* 2106 mov es,ax */
	0x8e, 0xd0,                         /* 2108 mov ss,ax */
	0xbc, 0x00, 0x70, 0x00, 0x00,       /* 210a mov esp,0x7000 */
	0x0f, 0x01, 0x1d, 0xf0, 0x04, 0x00, 0x00, /* 210f lidt [0x4f0] */
	0xc7, 0x05, 0xf0, 0x00, 0xe0, 0xfe, 0xff, 0x01, 0x00, 0x00, /* 2116 mov dword [0xfee000f0],0x1ff */
	0xb0, 0x52,                         /* 2120 mov al,'R' */
	0xe6, 0xe9,                         /* 2122 out 0xe9,al */
	0xfb,                               /* 2124 sti */
	0xf4,                               /* 2125 hlt */
	0xe6, 0xf4,                         /* 2126 out 0xf4,al */
};
/* Vector 0x50, on vCPU 1: EOI, 'F', a fixed IPI to APIC 0, vector 0x51. */
static const uint8_t ipi_ap_handler[] = {
	0x50,                               /* 1200 push eax */
	0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00, /* 1201 mov dword [0xfee000b0],0x0 */
	0xb0, 0x46,                         /* 120b mov al,'F' */
	0xe6, 0xe9,                         /* 120d out 0xe9,al */
	0xc7, 0x05, 0x10, 0x03, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00, /* 120f mov dword [0xfee00310],0x0 */
	0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, 0x51, 0x40, 0x00, 0x00, /* 1219 mov dword [0xfee00300],0x4051 */
	0x58,                               /* 1223 pop eax */
	0xcf,                               /* 1224 iret */
};
/* Scenario ioapic: the APIC enabled; the IOAPIC's version; pin 19 level,
 * vector 0x60; pin 20 edge, vector 0x61, masked; pin 21 edge, vector 0x62;
 * all to APIC 0 (physical); then STI; HLT for ever. */
static const uint8_t ioapic_main[] = {
	0xc7, 0x05, 0xf0, 0x00, 0xe0, 0xfe, 0xff, 0x01, 0x00, 0x00, /* 1000 mov dword [0xfee000f0],0x1ff */
	0xbb, 0x00, 0x00, 0xc0, 0xfe,       /* 100a mov ebx,0xfec00000 */
	0xc7, 0x03, 0x01, 0x00, 0x00, 0x00, /* 100f mov dword [ebx],0x1 */
	0x8b, 0x43, 0x10,                   /* 1015 mov eax,dword [ebx+0x10] */
	0xe7, 0xea,                         /* 1018 out 0xea,eax */
	0xc7, 0x03, 0x37, 0x00, 0x00, 0x00, /* 101a mov dword [ebx],0x37 */
	0xc7, 0x43, 0x10, 0x00, 0x00, 0x00, 0x00, /* 1020 mov dword [ebx+0x10],0x0 */
	0xc7, 0x03, 0x36, 0x00, 0x00, 0x00, /* 1027 mov dword [ebx],0x36 */
	0xc7, 0x43, 0x10, 0x60, 0x80, 0x00, 0x00, /* 102d mov dword [ebx+0x10],0x8060 */
	0xc7, 0x03, 0x39, 0x00, 0x00, 0x00, /* 1034 mov dword [ebx],0x39 */
	0xc7, 0x43, 0x10, 0x00, 0x00, 0x00, 0x00, /* 103a mov dword [ebx+0x10],0x0 */
	0xc7, 0x03, 0x38, 0x00, 0x00, 0x00, /* 1041 mov dword [ebx],0x38 */
	0xc7, 0x43, 0x10, 0x61, 0x00, 0x01, 0x00, /* 1047 mov dword [ebx+0x10],0x10061 */
	0xc7, 0x03, 0x3b, 0x00, 0x00, 0x00, /* 104e mov dword [ebx],0x3b */
	0xc7, 0x43, 0x10, 0x00, 0x00, 0x00, 0x00, /* 1054 mov dword [ebx+0x10],0x0 */
	0xc7, 0x03, 0x3a, 0x00, 0x00, 0x00, /* 105b mov dword [ebx],0x3a */
	0xc7, 0x43, 0x10, 0x62, 0x00, 0x00, 0x00, /* 1061 mov dword [ebx+0x10],0x62 */
	0xb0, 0x70,                         /* 1068 mov al,'p' */
	0xe6, 0xe9,                         /* 106a out 0xe9,al */
	0xfb,                               /* 106c wait: sti */
	0xf4,                               /* 106d hlt */
	0xeb, 0xfc,                         /* 106e jmp 0x106c */
};
/* Scenarios msi and split: the version register, the APIC enabled with
 * logical ID 1 (flat), 'r'eady, then STI; HLT for ever. */
static const uint8_t apic_main[] = {
	0xbb, 0x00, 0x00, 0xe0, 0xfe,       /* 1000 mov ebx,0xfee00000 */
	0x8b, 0x43, 0x30,                   /* 1005 mov eax,dword [ebx+0x30] */
	0xe7, 0xea,                         /* 1008 out 0xea,eax */
	0xc7, 0x83, 0xf0, 0x00, 0x00, 0x00, 0xff, 0x01, 0x00, 0x00, /* 100a mov dword [ebx+0xf0],0x1ff */
	0xc7, 0x83, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* 1014 mov dword [ebx+0xd0],0x1000000 */
	0xb0, 0x72,                         /* 101e mov al,'r' */
	0xe6, 0xe9,                         /* 1020 out 0xe9,al */
	0xfb,                               /* 1022 wait: sti */
	0xf4,                               /* 1023 hlt */
	0xeb, 0xfc,                         /* 1024 jmp 0x1022 */
};

/* An interrupt handler: EOI, then character @c on port 0xe9. */
#define HANDLER(c)                                                                 \
	{                                                                          \
		0x50,                                     /* push eax */           \
		0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0, 0, 0, 0, /* mov [EOI],0 */  \
		0xb0, c,                                  /* mov al,c */           \
		0xe6, 0xe9,                               /* out 0xe9,al */        \
		0x58,                                     /* pop eax */            \
		0xcf,                                     /* iret */               \
	}
/* An NMI handler: @c, no EOI. */
#define NMI_HANDLER(c) {0x50, 0xb0, c, 0xe6, 0xe9, 0x58, 0xcf}
/* An IOAPIC line's handler: @c, the EOI, then 'E'. */
#define LINE_HANDLER(c)                                                            \
	{                                                                          \
		0x50,                                     /* push eax */           \
		0xb0, c,                                  /* mov al,c */           \
		0xe6, 0xe9,                               /* out 0xe9,al */        \
		0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0, 0, 0, 0, /* mov [EOI],0 */  \
		0xb0, 'E',                                /* mov al,'E' */         \
		0xe6, 0xe9,                               /* out 0xe9,al */        \
		0x58,                                     /* pop eax */            \
		0xcf,                                     /* iret */               \
	}

/* ---- The VMM ---- */

static int dev;
static const char *scenario;

/* One transcript line, with the scenario's name. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	printf("%s: ", scenario);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static const char *ename(int e)
{
	static char other[24];
	switch (e) {
	case EINVAL: return "EINVAL";
	case EEXIST: return "EEXIST";
	case ENXIO: return "ENXIO";
	case EFAULT: return "EFAULT";
	case EAGAIN: return "EAGAIN";
	case EINTR: return "EINTR";
	case EPERM: return "EPERM";
	case EBUSY: return "EBUSY";
	case ENOTTY: return "ENOTTY";
	case ENOENT: return "ENOENT";
	case ENOMEM: return "ENOMEM";
	case ENOSPC: return "ENOSPC";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EIO: return "EIO";
	}
	snprintf(other, sizeof(other), "errno %d", e);
	return other;
}

/* "WHAT: R", or "WHAT: -1 ENAME". */
static int result(const char *what, int r)
{
	if (r < 0)
		say("%s: -1 %s", what, ename(errno));
	else
		say("%s: %d", what, r);
	return r;
}

/* ---- Machines ---- */

struct machine {
	struct vmm_vm vm;
	struct vmm_vcpu cpu[2];
	int ncpus;
};

static int new_machine(struct machine *m, const char *name)
{
	scenario = name;
	memset(m, 0, sizeof(*m));
	m->cpu[0].fd = m->cpu[1].fd = -1;
	const char *step = vmm_vm_create(&m->vm, dev, MEM_SIZE, NULL, 0);
	if (step) {
		say("setup: %s: %s", step, ename(errno));
		vmm_vm_destroy(&m->vm);
		return -1;
	}
	return 0;
}

static int add_vcpu(struct machine *m)
{
	const int id = m->ncpus;
	const char *step = vmm_vcpu_create(&m->cpu[id], dev, m->vm.fd, id);
	if (step) {
		say("setup: %s: %s", step, ename(errno));
		return -1;
	}
	m->ncpus++;
	return 0;
}

static void end_machine(struct machine *m)
{
	for (int i = 0; i < m->ncpus; i++)
		vmm_vcpu_destroy(&m->cpu[i]);
	vmm_vm_destroy(&m->vm);
}

static void place(struct machine *m, uint32_t gpa, const void *code, size_t len)
{
	memcpy(m->vm.mem + gpa, code, len);
}

/* Real mode: the IVT's entry for @vector, segment 0. */
static void ivt(struct machine *m, int vector, uint16_t offset)
{
	memcpy(m->vm.mem + 4 * vector, &offset, 2);
}

/* Protected mode: a 32-bit interrupt gate, code selector 8. */
static void gate(struct machine *m, int vector, uint32_t handler)
{
	uint8_t *g = m->vm.mem + IDT + 8 * vector;
	const uint8_t d[8] = {handler & 0xff, (handler >> 8) & 0xff, 8, 0, 0, 0x8e, (handler >> 16) & 0xff,
			      handler >> 24};
	memcpy(g, d, 8);
}

/* Flat 32-bit protected mode at @rip: a GDT the guest's IRETs reload CS
 * from, an IDT, and the pseudo-descriptors at GDTR and IDTR for vCPU 1's
 * own LGDT/LIDT. The APIC base in the sregs stays the vCPU's own. */
static int protected_mode(struct machine *m, int cpu, uint32_t rip, uint32_t rsp)
{
	static const uint64_t gdt[3] = {0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull};
	memcpy(m->vm.mem + GDT, gdt, sizeof(gdt));
	const uint16_t gdt_limit = sizeof(gdt) - 1, idt_limit = 256 * 8 - 1;
	const uint32_t gdt_base = GDT, idt_base = IDT;
	memcpy(m->vm.mem + GDTR, &gdt_limit, 2);
	memcpy(m->vm.mem + GDTR + 2, &gdt_base, 4);
	memcpy(m->vm.mem + IDTR, &idt_limit, 2);
	memcpy(m->vm.mem + IDTR + 2, &idt_base, 4);
	struct kvm_sregs s;
	if (ioctl(m->cpu[cpu].fd, KVM_GET_SREGS, &s))
		return -1;
	vmm_flat_sregs(&s, 0);
	s.cr0 |= 1;
	s.gdt.base = GDT;
	s.gdt.limit = gdt_limit;
	s.idt.base = IDT;
	s.idt.limit = idt_limit;
	if (ioctl(m->cpu[cpu].fd, KVM_SET_SREGS, &s))
		return -1;
	return vmm_set_regs_at(m->cpu[cpu].fd, rip, rsp);
}

/* ---- Running ---- */

static volatile sig_atomic_t watchdog_fired;
static void on_signal(int sig) { (void)sig; watchdog_fired = 1; }

enum event { EV_CHAR, EV_VALUE, EV_DONE, EV_EOI, EV_WINDOW, EV_AGAIN, EV_FAIL };

/* KVM_RUN once; what came back, described in @buf. */
static enum event step(struct vmm_vcpu *c, char *buf, size_t n, uint32_t *value)
{
	struct kvm_run *run = c->run;
	*value = 0;
	if (ioctl(c->fd, KVM_RUN, 0)) {
		const int e = errno;
		snprintf(buf, n, "RUN: -1 %s%s", ename(e), e == EINTR && watchdog_fired ? " (watchdog)" : "");
		return e == EAGAIN ? EV_AGAIN : EV_FAIL;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		const uint8_t *d = vmm_io_data(run);
		if (run->io.direction == KVM_EXIT_IO_OUT && run->io.count == 1) {
			if (run->io.port == PORT_CHAR && run->io.size == 1) {
				*value = d[0];
				snprintf(buf, n, "io '%c'", d[0]);
				return EV_CHAR;
			}
			if (run->io.port == PORT_VALUE && run->io.size == 4) {
				memcpy(value, d, 4);
				snprintf(buf, n, "value 0x%08x", *value);
				return EV_VALUE;
			}
			if (run->io.port == PORT_DONE) {
				snprintf(buf, n, "done");
				return EV_DONE;
			}
		}
		snprintf(buf, n, "io %s port 0x%x size %u count %u", run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			 run->io.port, run->io.size, run->io.count);
		return EV_FAIL;
	}
	case KVM_EXIT_IOAPIC_EOI:
		*value = run->eoi.vector;
		snprintf(buf, n, "ioapic eoi vector 0x%02x", run->eoi.vector);
		return EV_EOI;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		snprintf(buf, n, "irq window open if_flag=%u ready=%u", run->if_flag, run->ready_for_interrupt_injection);
		return EV_WINDOW;
	case KVM_EXIT_HLT:
		snprintf(buf, n, "hlt (never with an in-kernel local APIC)");
		return EV_FAIL;
	case KVM_EXIT_MMIO:
		snprintf(buf, n, "mmio %s 0x%llx len %u", run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len);
		return EV_FAIL;
	default:
		snprintf(buf, n, "exit %u", run->exit_reason);
		return EV_FAIL;
	}
}

/* KVM_RUN once from the main thread, under the watchdog; the line said. */
static enum event go(struct vmm_vcpu *c, const char *who, uint32_t *value)
{
	char buf[96];
	uint32_t v;
	watchdog_fired = 0;
	alarm(WATCHDOG);
	const enum event e = step(c, buf, sizeof(buf), value ? value : &v);
	alarm(0);
	if (who)
		say("%s %s", who, buf);
	else
		say("%s", buf);
	return e;
}

/* go(), expecting @want: otherwise the scenario ends (-1). */
static int expect(struct vmm_vcpu *c, enum event want)
{
	return go(c, NULL, NULL) == want ? 0 : -1;
}

/* Runs to the guest's end: every character, value and EOI exit said. */
static int run_to_done(struct vmm_vcpu *c, int max)
{
	for (int i = 0; i < max; i++) {
		const enum event e = go(c, NULL, NULL);
		if (e == EV_DONE)
			return 0;
		if (e == EV_FAIL || e == EV_AGAIN || e == EV_WINDOW)
			return -1;
	}
	say("no end after %d exits", max);
	return -1;
}

static int irq_line_status(struct machine *m, uint32_t gsi, uint32_t level)
{
	struct kvm_irq_level l = {.irq = gsi, .level = level};
	char what[64];
	snprintf(what, sizeof(what), "IRQ_LINE_STATUS gsi %u level %u", gsi, level);
	if (ioctl(m->vm.fd, KVM_IRQ_LINE_STATUS, &l))
		return result(what, -1);
	say("%s: status %d", what, l.status);
	return l.status;
}

static int signal_msi(struct machine *m, const char *what, uint32_t address_lo, uint32_t data, uint32_t flags)
{
	struct kvm_msi msi = {.address_lo = address_lo, .data = data, .flags = flags, .devid = flags ? 0x1234 : 0};
	return result(what, ioctl(m->vm.fd, KVM_SIGNAL_MSI, &msi));
}

static uint32_t apic_reg(const struct kvm_lapic_state *s, unsigned offset)
{
	uint32_t v;
	memcpy(&v, s->regs + offset, 4);
	return v;
}

static void set_apic_reg(struct kvm_lapic_state *s, unsigned offset, uint32_t v) { memcpy(s->regs + offset, &v, 4); }

static int get_lapic(struct machine *m, int cpu, struct kvm_lapic_state *s)
{
	if (ioctl(m->cpu[cpu].fd, KVM_GET_LAPIC, s)) {
		result("GET_LAPIC", -1);
		return -1;
	}
	return 0;
}

static void mp_state(struct machine *m, int cpu)
{
	struct kvm_mp_state s;
	if (ioctl(m->cpu[cpu].fd, KVM_GET_MP_STATE, &s))
		result("GET_MP_STATE", -1);
	else
		say("vcpu%d mp_state %u", cpu, s.mp_state);
}

static void set_mp_state(struct machine *m, int cpu, uint32_t state)
{
	struct kvm_mp_state s = {.mp_state = state};
	char what[48];
	snprintf(what, sizeof(what), "vcpu%d SET_MP_STATE %u", cpu, state);
	result(what, ioctl(m->cpu[cpu].fd, KVM_SET_MP_STATE, &s));
}

static void ioapic_state(struct machine *m, const int *pins, int n)
{
	struct kvm_irqchip c = {.chip_id = KVM_IRQCHIP_IOAPIC};
	if (ioctl(m->vm.fd, KVM_GET_IRQCHIP, &c)) {
		result("GET_IRQCHIP ioapic", -1);
		return;
	}
	char buf[256];
	int len = snprintf(buf, sizeof(buf), "ioapic irr 0x%08x", c.chip.ioapic.irr);
	for (int i = 0; i < n; i++)
		len += snprintf(buf + len, sizeof(buf) - len, " pin%d 0x%016llx", pins[i],
				(unsigned long long)c.chip.ioapic.redirtbl[pins[i]].bits);
	say("%s", buf);
}

/* Routes, KVM_SET_GSI_ROUTING's way. */
struct routes {
	struct kvm_irq_routing h;
	struct kvm_irq_routing_entry e[64];
};

static void route_chip(struct routes *r, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry *e = &r->e[r->h.nr++];
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

static void route_msi(struct routes *r, uint32_t gsi, uint32_t address_lo, uint32_t data)
{
	struct kvm_irq_routing_entry *e = &r->e[r->h.nr++];
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = address_lo;
	e->u.msi.data = data;
}

static int set_routes(struct machine *m, const char *what, struct routes *r)
{
	return result(what, ioctl(m->vm.fd, KVM_SET_GSI_ROUTING, r));
}

/* ---- 1. The PIC and the PIT ---- */

/* QEMU's table (kvm_pc_setup_irq_routing): the ISA IRQs to the PICs but
 * IRQ2 (the cascade), GSI 0 to IOAPIC pin 2 (the ISA override), the other
 * GSIs to their pins. */
static void qemu_routes(struct routes *r)
{
	memset(&r->h, 0, sizeof(r->h));
	for (uint32_t i = 0; i < 16; i++)
		if (i != 2)
			route_chip(r, i, i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, i & 7);
	for (uint32_t i = 0; i < 24; i++)
		if (i != 2)
			route_chip(r, i, KVM_IRQCHIP_IOAPIC, i ? i : 2);
}

static void pic_pit(void)
{
	struct machine m;
	if (new_machine(&m, "pic_pit"))
		return;
	struct kvm_pit_config pc = {.flags = 0};
	struct routes r;
	qemu_routes(&r);
	if (result("CREATE_IRQCHIP", ioctl(m.vm.fd, KVM_CREATE_IRQCHIP, 0)) ||
	    result("CREATE_PIT2", ioctl(m.vm.fd, KVM_CREATE_PIT2, &pc)) || set_routes(&m, "SET_GSI_ROUTING QEMU's", &r) ||
	    add_vcpu(&m) || vmm_real_mode(m.cpu[0].fd, VMM_CODE, STACK))
		goto out;
	place(&m, VMM_CODE, pic_pit_main, sizeof(pic_pit_main));
	place(&m, 0x1100, pic_pit_irq0, sizeof(pic_pit_irq0));
	ivt(&m, 0x20, 0x1100);
	struct kvm_interrupt irq = {.irq = 0x20};
	result("KVM_INTERRUPT with the PIC in the kernel", ioctl(m.cpu[0].fd, KVM_INTERRUPT, &irq));
	/* Ignored with the PIC in the kernel: no KVM_EXIT_IRQ_WINDOW_OPEN. */
	m.cpu[0].run->request_interrupt_window = 1;
	if (run_to_done(&m.cpu[0], 10))
		goto out;
	say("at the end if_flag=%u ready=%u", m.cpu[0].run->if_flag, m.cpu[0].run->ready_for_interrupt_injection);
	struct kvm_irqchip c = {.chip_id = KVM_IRQCHIP_PIC_MASTER};
	if (!result("GET_IRQCHIP pic master", ioctl(m.vm.fd, KVM_GET_IRQCHIP, &c)))
		say("pic master irq_base 0x%02x imr 0x%02x isr 0x%02x init4 %u", c.chip.pic.irq_base, c.chip.pic.imr,
		    c.chip.pic.isr, c.chip.pic.init4);
	struct kvm_pit_state2 ps;
	if (!result("GET_PIT2", ioctl(m.vm.fd, KVM_GET_PIT2, &ps)))
		say("pit channel 0 count %u mode %u rw_mode %u gate %u; channel 2 gate %u; flags 0x%x",
		    ps.channels[0].count, ps.channels[0].mode, ps.channels[0].rw_mode, ps.channels[0].gate,
		    ps.channels[2].gate, ps.flags);
out:
	end_machine(&m);
}

/* ---- 2. The local APIC's timer ---- */

static void lapic_timer(void)
{
	struct machine m;
	if (new_machine(&m, "lapic_timer"))
		return;
	if (result("CREATE_IRQCHIP", ioctl(m.vm.fd, KVM_CREATE_IRQCHIP, 0)) || add_vcpu(&m) ||
	    /* the periodic mode is the CPUID's (KVM's timer_mode_mask) */
	    result("SET_CPUID2", vmm_set_cpuid(dev, m.cpu[0].fd)) || protected_mode(&m, 0, VMM_CODE, STACK))
		goto out;
	static const uint8_t nmi[] = NMI_HANDLER('n');
	place(&m, VMM_CODE, timer_main, sizeof(timer_main));
	place(&m, 0x1100, timer_periodic, sizeof(timer_periodic));
	place(&m, 0x1140, timer_oneshot, sizeof(timer_oneshot));
	place(&m, 0x1180, nmi, sizeof(nmi));
	gate(&m, 0x40, 0x1100);
	gate(&m, 0x41, 0x1140);
	gate(&m, 2, 0x1180);
	struct kvm_lapic_state s;
	if (get_lapic(&m, 0, &s))
		goto out;
	say("reset: id 0x%08x lvr 0x%08x svr 0x%08x lvt0 0x%08x lvt1 0x%08x lvtt 0x%08x dfr 0x%08x", apic_reg(&s, 0x20),
	    apic_reg(&s, 0x30), apic_reg(&s, 0xf0), apic_reg(&s, 0x350), apic_reg(&s, 0x360), apic_reg(&s, 0x320),
	    apic_reg(&s, 0xe0));
	if (run_to_done(&m.cpu[0], 20))
		goto out;
	if (get_lapic(&m, 0, &s))
		goto out;
	say("after: svr 0x%08x lvtt 0x%08x tmict 0x%08x tdcr 0x%08x isr0x40 0x%08x", apic_reg(&s, 0xf0),
	    apic_reg(&s, 0x320), apic_reg(&s, 0x380), apic_reg(&s, 0x3e0), apic_reg(&s, 0x100 + 0x10 * (0x40 / 32)));
out:
	end_machine(&m);
}

/* ---- 3. IPIs, INIT and SIPI between two vCPUs ---- */

/* vCPU 1's thread writes what it saw here; the main thread says it where
 * the order is known. */
struct ap {
	struct vmm_vcpu *cpu;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char log[24][128];
	int n, said, finished;
};

static void ap_log(struct ap *a, const char *line)
{
	pthread_mutex_lock(&a->lock);
	if (a->n < 24)
		snprintf(a->log[a->n++], sizeof(a->log[0]), "%s", line);
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static void *ap_thread(void *arg)
{
	struct ap *a = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* the main thread's watchdog */
	for (int i = 0; i < 16; i++) {
		char buf[96], line[128];
		uint32_t v;
		const enum event e = step(a->cpu, buf, sizeof(buf), &v);
		snprintf(line, sizeof(line), "vcpu1 %s", buf);
		ap_log(a, line);
		struct kvm_mp_state mp;
		if (e == EV_AGAIN || (e == EV_CHAR && v == 'A')) {
			if (e == EV_CHAR) {
				struct kvm_sregs s;
				struct kvm_regs r;
				ioctl(a->cpu->fd, KVM_GET_SREGS, &s);
				ioctl(a->cpu->fd, KVM_GET_REGS, &r);
				snprintf(line, sizeof(line), "vcpu1 cs 0x%04x base 0x%llx rip 0x%llx", s.cs.selector,
					 (unsigned long long)s.cs.base, (unsigned long long)r.rip);
				ap_log(a, line);
			}
			if (ioctl(a->cpu->fd, KVM_GET_MP_STATE, &mp))
				snprintf(line, sizeof(line), "vcpu1 GET_MP_STATE: -1 %s", ename(errno));
			else
				snprintf(line, sizeof(line), "vcpu1 mp_state %u", mp.mp_state);
			ap_log(a, line);
			continue;
		}
		if (e != EV_CHAR)
			break;
	}
	pthread_mutex_lock(&a->lock);
	a->finished = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* Says vCPU 1's first @n lines once it has them (or ended): -1 if it has
 * not within the watchdog's time. Later lines wait for a later call, so
 * that the transcript's order never depends on the threads' timing. */
static int ap_wait(struct ap *a, int n)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += WATCHDOG;
	int r = 0;
	pthread_mutex_lock(&a->lock);
	while (a->n < n && !a->finished)
		if (pthread_cond_timedwait(&a->cond, &a->lock, &t)) {
			r = -1;
			break;
		}
	for (; a->said < a->n && a->said < n; a->said++)
		say("%s", a->log[a->said]);
	if (a->n < n) {
		say("vcpu1: %d lines, not %d%s", a->n, n, r ? " (watchdog)" : "");
		r = -1;
	}
	pthread_mutex_unlock(&a->lock);
	return r;
}

/* vCPU 1's thread out of KVM_RUN for good: immediate_exit, and signals
 * until it has ended. */
static void ap_stop(struct ap *a, pthread_t t)
{
	a->cpu->run->immediate_exit = 1;
	for (int i = 0; i < 100; i++) {
		pthread_mutex_lock(&a->lock);
		const int finished = a->finished;
		pthread_mutex_unlock(&a->lock);
		if (finished)
			return;
		pthread_kill(t, SIGUSR1);
		usleep(100 * 1000);
	}
}

static void ipi(void)
{
	struct machine m;
	if (new_machine(&m, "ipi"))
		return;
	if (result("CREATE_IRQCHIP", ioctl(m.vm.fd, KVM_CREATE_IRQCHIP, 0)) || add_vcpu(&m) || add_vcpu(&m) ||
	    protected_mode(&m, 0, VMM_CODE, STACK))
		goto out;
	place(&m, VMM_CODE, ipi_bsp, sizeof(ipi_bsp));
	place(&m, 0x1200, ipi_ap_handler, sizeof(ipi_ap_handler));
	place(&m, 0x1300, ipi_bsp_handler, sizeof(ipi_bsp_handler));
	place(&m, 0x2000, ipi_ap_real, sizeof(ipi_ap_real));
	place(&m, 0x2100, ipi_ap_prot, sizeof(ipi_ap_prot));
	gate(&m, 0x50, 0x1200);
	gate(&m, 0x51, 0x1300);
	mp_state(&m, 0);
	mp_state(&m, 1);
	struct kvm_lapic_state s0, s1;
	if (get_lapic(&m, 0, &s0) || get_lapic(&m, 1, &s1))
		goto out;
	say("vcpu0 id 0x%08x lvt0 0x%08x; vcpu1 id 0x%08x lvt0 0x%08x", apic_reg(&s0, 0x20), apic_reg(&s0, 0x350),
	    apic_reg(&s1, 0x20), apic_reg(&s1, 0x350));
	struct kvm_sregs sr;
	if (!ioctl(m.cpu[0].fd, KVM_GET_SREGS, &sr))
		say("vcpu0 apic_base 0x%llx", (unsigned long long)sr.apic_base);
	if (!ioctl(m.cpu[1].fd, KVM_GET_SREGS, &sr))
		say("vcpu1 apic_base 0x%llx", (unsigned long long)sr.apic_base);

	struct ap a = {.cpu = &m.cpu[1]};
	pthread_mutex_init(&a.lock, NULL);
	pthread_cond_init(&a.cond, NULL);
	pthread_t t;
	if (pthread_create(&t, NULL, ap_thread, &a)) {
		say("pthread_create failed");
		goto out;
	}
	struct vmm_vcpu *bsp = &m.cpu[0];
	/* '1': INIT next; '2': INIT sent, SIPI next; '3': SIPI sent, fixed
	 * IPI next; 'P': vCPU 1's IPI back; then the end. */
	int ok = !expect(bsp, EV_CHAR) && !expect(bsp, EV_CHAR) &&
		 /* vCPU 1 left KVM_RUN with EAGAIN, INIT received */
		 !ap_wait(&a, 2) && !expect(bsp, EV_CHAR) &&
		 /* 'A' in real mode at CS 0x0200, RUNNABLE, then 'R'eady */
		 !ap_wait(&a, 6) && !expect(bsp, EV_CHAR) &&
		 /* vCPU 1's 'F' came before its IPI to vCPU 0 */
		 !ap_wait(&a, 7) && !expect(bsp, EV_DONE);
	if (!ok || ap_wait(&a, 8))
		ap_stop(&a, t);
	pthread_join(t, NULL);
	for (; a.said < a.n; a.said++)
		say("%s", a.log[a.said]);
	if (ok) {
		mp_state(&m, 0);
		mp_state(&m, 1);
	}
out:
	end_machine(&m);
}

/* ---- 4. The IOAPIC under KVM_IRQ_LINE_STATUS ---- */

static void ioapic(void)
{
	static const int pins[] = {19, 20, 21};
	struct machine m;
	if (new_machine(&m, "ioapic"))
		return;
	if (result("CREATE_IRQCHIP", ioctl(m.vm.fd, KVM_CREATE_IRQCHIP, 0)) || add_vcpu(&m) ||
	    protected_mode(&m, 0, VMM_CODE, STACK))
		goto out;
	static const uint8_t h60[] = LINE_HANDLER('L'), h61[] = LINE_HANDLER('M'), h62[] = LINE_HANDLER('G');
	place(&m, VMM_CODE, ioapic_main, sizeof(ioapic_main));
	place(&m, 0x1100, h60, sizeof(h60));
	place(&m, 0x1140, h61, sizeof(h61));
	place(&m, 0x1180, h62, sizeof(h62));
	gate(&m, 0x60, 0x1100);
	gate(&m, 0x61, 0x1140);
	gate(&m, 0x62, 0x1180);
	struct vmm_vcpu *c = &m.cpu[0];
	ioapic_state(&m, pins, 3);
	/* Default routing: GSI 19 is IOAPIC pin 19 alone, masked at reset. */
	irq_line_status(&m, 19, 1);
	irq_line_status(&m, 100, 1); /* no route */
	struct kvm_irq_level l = {.irq = 100, .level = 0};
	result("IRQ_LINE gsi 100 level 0", ioctl(m.vm.fd, KVM_IRQ_LINE, &l));
	/* The guest unmasks pin 19 while its line is up: delivered at once. */
	if (expect(c, EV_VALUE) || expect(c, EV_CHAR))
		goto out;
	ioapic_state(&m, pins, 3);
	if (expect(c, EV_CHAR)) /* 'L' */
		goto out;
	irq_line_status(&m, 19, 1); /* remote IRR: not delivered */
	irq_line_status(&m, 19, 0);
	if (expect(c, EV_CHAR)) /* 'E': EOI'd, remote IRR clear */
		goto out;
	ioapic_state(&m, pins, 3);
	/* The line still up at the EOI: delivered again. */
	irq_line_status(&m, 19, 1);
	if (expect(c, EV_CHAR) || expect(c, EV_CHAR) || expect(c, EV_CHAR)) /* 'L', 'E', 'L' */
		goto out;
	ioapic_state(&m, pins, 3);
	irq_line_status(&m, 19, 0);
	if (expect(c, EV_CHAR)) /* 'E' */
		goto out;
	/* Edge, masked: -1, then coalesced (0) while the line stays up. */
	irq_line_status(&m, 20, 1);
	irq_line_status(&m, 20, 1);
	irq_line_status(&m, 20, 0);
	/* Edge: delivered once, the second rising edge coalesced. */
	irq_line_status(&m, 21, 1);
	irq_line_status(&m, 21, 1);
	irq_line_status(&m, 21, 0);
	if (expect(c, EV_CHAR) || expect(c, EV_CHAR)) /* 'G', 'E' */
		goto out;
	ioapic_state(&m, pins, 3);
	struct kvm_lapic_state s;
	if (!get_lapic(&m, 0, &s))
		say("lapic tmr 0x%08x isr 0x%08x irr 0x%08x (vectors 0x60-0x7f)", apic_reg(&s, 0x180 + 0x30),
		    apic_reg(&s, 0x100 + 0x30), apic_reg(&s, 0x200 + 0x30));
out:
	end_machine(&m);
}

/* ---- 5. KVM_SIGNAL_MSI and MSI routes ---- */

#define MSI_DEST(id) (0xfee00000u | ((id) << 12))
#define MSI_LOGICAL 4u

static void msi(void)
{
	struct machine m;
	if (new_machine(&m, "msi"))
		return;
	if (result("CREATE_IRQCHIP", ioctl(m.vm.fd, KVM_CREATE_IRQCHIP, 0)) || add_vcpu(&m) ||
	    protected_mode(&m, 0, VMM_CODE, STACK))
		goto out;
	static const uint8_t h70[] = HANDLER('M'), h71[] = HANDLER('B'), h72[] = HANDLER('L'), h73[] = HANDLER('W'),
			     h74[] = HANDLER('V'), h75[] = HANDLER('R'), nmi[] = NMI_HANDLER('n');
	place(&m, VMM_CODE, apic_main, sizeof(apic_main));
	const uint8_t *handlers[] = {h70, h71, h72, h73, h74, h75};
	for (int i = 0; i < 6; i++) {
		place(&m, 0x1100 + 0x20 * i, handlers[i], sizeof(h70));
		gate(&m, 0x70 + i, 0x1100 + 0x20 * i);
	}
	place(&m, 0x1200, nmi, sizeof(nmi));
	gate(&m, 2, 0x1200);
	struct vmm_vcpu *c = &m.cpu[0];
	signal_msi(&m, "SIGNAL_MSI to APIC 0, software-disabled", MSI_DEST(0), 0x70, 0);
	signal_msi(&m, "SIGNAL_MSI to APIC 7, none", MSI_DEST(7), 0x70, 0);
	if (expect(c, EV_VALUE) || expect(c, EV_CHAR)) /* the version, 'r' */
		goto out;
	if (signal_msi(&m, "SIGNAL_MSI fixed to APIC 0", MSI_DEST(0), 0x70, 0) == 1 && expect(c, EV_CHAR))
		goto out;
	if (signal_msi(&m, "SIGNAL_MSI fixed broadcast", MSI_DEST(0xff), 0x71, 0) == 1 && expect(c, EV_CHAR))
		goto out;
	if (signal_msi(&m, "SIGNAL_MSI logical 1", MSI_DEST(1) | MSI_LOGICAL, 0x72, 0) == 1 && expect(c, EV_CHAR))
		goto out;
	signal_msi(&m, "SIGNAL_MSI logical 2, none", MSI_DEST(2) | MSI_LOGICAL, 0x72, 0);
	if (signal_msi(&m, "SIGNAL_MSI lowest priority to APIC 0", MSI_DEST(0), 0x173, 0) == 1 && expect(c, EV_CHAR))
		goto out;
	if (signal_msi(&m, "SIGNAL_MSI with a device id", MSI_DEST(0), 0x74, KVM_MSI_VALID_DEVID) == 1 &&
	    expect(c, EV_CHAR))
		goto out;
	if (signal_msi(&m, "SIGNAL_MSI NMI", MSI_DEST(0), 0x400, 0) == 1 && expect(c, EV_CHAR))
		goto out;
	signal_msi(&m, "SIGNAL_MSI flags 2", MSI_DEST(0), 0x74, 2);
	struct routes r = {.h.nr = 0};
	route_msi(&r, 30, MSI_DEST(0), 0x75);
	if (set_routes(&m, "SET_GSI_ROUTING gsi 30 msi", &r))
		goto out;
	irq_line_status(&m, 30, 0);
	if (irq_line_status(&m, 30, 1) == 1 && expect(c, EV_CHAR))
		goto out;
	irq_line_status(&m, 30, 0);
	irq_line_status(&m, 19, 1); /* the default routes went with the table */
	irq_line_status(&m, 19, 0);
out:
	end_machine(&m);
}

/* ---- 6. The split irqchip ---- */

static void split(uint32_t reserved)
{
	struct machine m;
	char name[32];
	snprintf(name, sizeof(name), "split%u", reserved);
	if (new_machine(&m, name))
		return;
	struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {reserved}};
	if (result("ENABLE_CAP SPLIT_IRQCHIP", ioctl(m.vm.fd, KVM_ENABLE_CAP, &cap)) || add_vcpu(&m) ||
	    result("SET_CPUID2", vmm_set_cpuid(dev, m.cpu[0].fd)) || protected_mode(&m, 0, VMM_CODE, STACK))
		goto out;
	static const uint8_t h65[] = HANDLER('S'), h66[] = HANDLER('T'), h67[] = HANDLER('U'), h30[] = HANDLER('X');
	place(&m, VMM_CODE, apic_main, sizeof(apic_main));
	place(&m, 0x1100, h65, sizeof(h65));
	place(&m, 0x1120, h66, sizeof(h66));
	place(&m, 0x1140, h67, sizeof(h67));
	place(&m, 0x1160, h30, sizeof(h30));
	gate(&m, 0x65, 0x1100);
	gate(&m, 0x66, 0x1120);
	gate(&m, 0x67, 0x1140);
	gate(&m, 0x30, 0x1160);
	gate(&m, 0x31, 0x1160);
	struct routes r = {.h.nr = 0};
	route_msi(&r, 5, MSI_DEST(0), 0x8065);  /* level: the userspace IOAPIC's pin 5 */
	route_msi(&r, 6, MSI_DEST(0), 0x66);    /* edge */
	route_msi(&r, 30, MSI_DEST(0), 0x8067); /* level, past the reserved GSIs */
	if (set_routes(&m, "SET_GSI_ROUTING msi gsi 5 level, 6 edge, 30 level", &r))
		goto out;
	struct vmm_vcpu *c = &m.cpu[0];
	if (expect(c, EV_VALUE) || expect(c, EV_CHAR)) /* the version, 'r' */
		goto out;
	/* Level at GSI 5 (< reserved): the EOI exits before the handler's 'S'. */
	if (irq_line_status(&m, 5, 1) != 1 || (reserved > 5 && expect(c, EV_EOI)) || expect(c, EV_CHAR))
		goto out;
	irq_line_status(&m, 5, 0);
	if (irq_line_status(&m, 6, 1) != 1 || expect(c, EV_CHAR))
		goto out;
	irq_line_status(&m, 6, 0);
	if (irq_line_status(&m, 30, 1) != 1 || expect(c, EV_CHAR))
		goto out;
	/* The userspace PIC's ExtINT: one at a time. */
	struct kvm_interrupt irq = {.irq = 0x30};
	result("KVM_INTERRUPT 0x30", ioctl(c->fd, KVM_INTERRUPT, &irq));
	irq.irq = 0x31;
	result("KVM_INTERRUPT 0x31 while 0x30 waits", ioctl(c->fd, KVM_INTERRUPT, &irq));
	if (expect(c, EV_CHAR))
		goto out;
	say("in the handler if_flag=%u ready=%u", c->run->if_flag, c->run->ready_for_interrupt_injection);
	c->run->request_interrupt_window = 1;
	if (expect(c, EV_WINDOW))
		goto out;
	c->run->request_interrupt_window = 0;
	irq.irq = 0x31;
	if (result("KVM_INTERRUPT 0x31", ioctl(c->fd, KVM_INTERRUPT, &irq)) || expect(c, EV_CHAR))
		goto out;
	struct kvm_irqchip chip = {.chip_id = KVM_IRQCHIP_IOAPIC};
	result("GET_IRQCHIP", ioctl(m.vm.fd, KVM_GET_IRQCHIP, &chip));
	struct kvm_pit_config pc = {.flags = 0};
	result("CREATE_PIT2", ioctl(m.vm.fd, KVM_CREATE_PIT2, &pc));
out:
	end_machine(&m);
}

/* ---- 7. Bad input ---- */

static void errors(void)
{
	struct machine m;
	struct kvm_irqchip chip = {.chip_id = 0};
	struct kvm_irq_level line = {.irq = 4, .level = 1};
	struct kvm_pit_state2 pit;
	struct kvm_pit_config pc = {.flags = 0};
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_HALTED};
	struct kvm_msi msi = {.address_lo = MSI_DEST(0), .data = 0x70};
	struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};
	struct kvm_reinject_control reinject = {.pit_reinject = 1};
	static struct routes r; /* 4097 entries do not fit; the count alone is checked first */

	/* No irqchip. */
	if (new_machine(&m, "errors_none"))
		return;
	result("IRQ_LINE", ioctl(m.vm.fd, KVM_IRQ_LINE, &line));
	result("IRQ_LINE_STATUS", ioctl(m.vm.fd, KVM_IRQ_LINE_STATUS, &line));
	result("GET_IRQCHIP", ioctl(m.vm.fd, KVM_GET_IRQCHIP, &chip));
	result("SET_IRQCHIP", ioctl(m.vm.fd, KVM_SET_IRQCHIP, &chip));
	memset(&r, 0, sizeof(r));
	result("SET_GSI_ROUTING nr 0", ioctl(m.vm.fd, KVM_SET_GSI_ROUTING, &r));
	result("SIGNAL_MSI", ioctl(m.vm.fd, KVM_SIGNAL_MSI, &msi));
	result("GET_PIT2", ioctl(m.vm.fd, KVM_GET_PIT2, &pit));
	result("REINJECT_CONTROL", ioctl(m.vm.fd, KVM_REINJECT_CONTROL, &reinject));
	if (add_vcpu(&m))
		goto out;
	result("GET_LAPIC", ioctl(m.cpu[0].fd, KVM_GET_LAPIC, &lapic));
	memset(&lapic, 0, sizeof(lapic));
	result("SET_LAPIC", ioctl(m.cpu[0].fd, KVM_SET_LAPIC, &lapic));
	result("SET_MP_STATE HALTED", ioctl(m.cpu[0].fd, KVM_SET_MP_STATE, &mp));
	mp.mp_state = KVM_MP_STATE_RUNNABLE;
	result("SET_MP_STATE RUNNABLE", ioctl(m.cpu[0].fd, KVM_SET_MP_STATE, &mp));
	mp_state(&m, 0);
	result("CREATE_IRQCHIP after a vCPU", ioctl(m.vm.fd, KVM_CREATE_IRQCHIP, 0));
	result("ENABLE_CAP SPLIT_IRQCHIP after a vCPU", ioctl(m.vm.fd, KVM_ENABLE_CAP, &cap));
	result("SET_BOOT_CPU_ID after a vCPU", ioctl(m.vm.fd, KVM_SET_BOOT_CPU_ID, 0));
	result("CREATE_PIT2 without an irqchip", ioctl(m.vm.fd, KVM_CREATE_PIT2, &pc));
	result("CREATE_PIT2 again", ioctl(m.vm.fd, KVM_CREATE_PIT2, &pc));
	if (!result("GET_PIT2", ioctl(m.vm.fd, KVM_GET_PIT2, &pit)))
		say("pit reset: channel 0 count %u mode 0x%x gate %u; channel 2 gate %u; flags 0x%x",
		    pit.channels[0].count, pit.channels[0].mode, pit.channels[0].gate, pit.channels[2].gate, pit.flags);
	end_machine(&m);

	/* The full irqchip. */
	if (new_machine(&m, "errors_full"))
		return;
	result("SET_BOOT_CPU_ID 0", ioctl(m.vm.fd, KVM_SET_BOOT_CPU_ID, 0));
	result("CREATE_IRQCHIP", ioctl(m.vm.fd, KVM_CREATE_IRQCHIP, 0));
	result("CREATE_IRQCHIP again", ioctl(m.vm.fd, KVM_CREATE_IRQCHIP, 0));
	result("ENABLE_CAP SPLIT_IRQCHIP", ioctl(m.vm.fd, KVM_ENABLE_CAP, &cap));
	for (uint32_t id = 0; id < 4; id++) {
		char what[40];
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = id;
		snprintf(what, sizeof(what), "GET_IRQCHIP chip %u", id);
		result(what, ioctl(m.vm.fd, KVM_GET_IRQCHIP, &chip));
	}
	chip.chip_id = 3;
	result("SET_IRQCHIP chip 3", ioctl(m.vm.fd, KVM_SET_IRQCHIP, &chip));
	memset(&chip, 0, sizeof(chip));
	chip.chip_id = KVM_IRQCHIP_PIC_MASTER;
	if (!ioctl(m.vm.fd, KVM_GET_IRQCHIP, &chip))
		say("pic master reset: irq_base 0x%02x imr 0x%02x elcr 0x%02x elcr_mask 0x%02x init_state %u",
		    chip.chip.pic.irq_base, chip.chip.pic.imr, chip.chip.pic.elcr, chip.chip.pic.elcr_mask,
		    chip.chip.pic.init_state);
	chip.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	if (!ioctl(m.vm.fd, KVM_GET_IRQCHIP, &chip))
		say("pic slave reset: elcr_mask 0x%02x", chip.chip.pic.elcr_mask);
	chip.chip_id = KVM_IRQCHIP_IOAPIC;
	if (!ioctl(m.vm.fd, KVM_GET_IRQCHIP, &chip))
		say("ioapic reset: base 0x%llx id %u irr 0x%x pin0 0x%llx pin23 0x%llx",
		    (unsigned long long)chip.chip.ioapic.base_address, chip.chip.ioapic.id, chip.chip.ioapic.irr,
		    (unsigned long long)chip.chip.ioapic.redirtbl[0].bits,
		    (unsigned long long)chip.chip.ioapic.redirtbl[23].bits);
	/* KVM_SET_GSI_ROUTING: the header, then each entry. */
	memset(&r, 0, sizeof(r));
	r.h.nr = 4097;
	result("SET_GSI_ROUTING nr 4097", ioctl(m.vm.fd, KVM_SET_GSI_ROUTING, &r));
	memset(&r, 0, sizeof(r));
	r.h.flags = 1;
	result("SET_GSI_ROUTING flags 1", ioctl(m.vm.fd, KVM_SET_GSI_ROUTING, &r));
	struct {
		const char *what;
		uint32_t gsi, type, flags, chip, pin;
	} bad[] = {
		{"SET_GSI_ROUTING gsi 4096", 4096, KVM_IRQ_ROUTING_IRQCHIP, 0, KVM_IRQCHIP_IOAPIC, 0},
		{"SET_GSI_ROUTING ioapic pin 24", 1, KVM_IRQ_ROUTING_IRQCHIP, 0, KVM_IRQCHIP_IOAPIC, 24},
		{"SET_GSI_ROUTING pic pin 8", 1, KVM_IRQ_ROUTING_IRQCHIP, 0, KVM_IRQCHIP_PIC_MASTER, 8},
		{"SET_GSI_ROUTING irqchip 3", 1, KVM_IRQ_ROUTING_IRQCHIP, 0, 3, 0},
		{"SET_GSI_ROUTING irqchip entry flags 1", 1, KVM_IRQ_ROUTING_IRQCHIP, 1, KVM_IRQCHIP_IOAPIC, 1},
		{"SET_GSI_ROUTING type 99", 1, 99, 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.h.nr = 1;
		r.e[0].gsi = bad[i].gsi;
		r.e[0].type = bad[i].type;
		r.e[0].flags = bad[i].flags;
		r.e[0].u.irqchip.irqchip = bad[i].chip;
		r.e[0].u.irqchip.pin = bad[i].pin;
		result(bad[i].what, ioctl(m.vm.fd, KVM_SET_GSI_ROUTING, &r));
	}
	memset(&r, 0, sizeof(r));
	route_chip(&r, 3, KVM_IRQCHIP_IOAPIC, 3);
	route_chip(&r, 3, KVM_IRQCHIP_IOAPIC, 4);
	result("SET_GSI_ROUTING gsi 3 to the IOAPIC twice", ioctl(m.vm.fd, KVM_SET_GSI_ROUTING, &r));
	memset(&r, 0, sizeof(r));
	route_chip(&r, 3, KVM_IRQCHIP_IOAPIC, 3);
	route_msi(&r, 3, MSI_DEST(0), 0x70);
	result("SET_GSI_ROUTING gsi 3 to the IOAPIC and an MSI", ioctl(m.vm.fd, KVM_SET_GSI_ROUTING, &r));
	memset(&r, 0, sizeof(r));
	route_chip(&r, 3, KVM_IRQCHIP_IOAPIC, 3);
	route_chip(&r, 3, KVM_IRQCHIP_PIC_MASTER, 3);
	route_msi(&r, 4, MSI_DEST(0), 0x70);
	r.e[2].flags = KVM_MSI_VALID_DEVID;
	result("SET_GSI_ROUTING gsi 3 to IOAPIC and PIC, gsi 4 MSI with a device id",
	       ioctl(m.vm.fd, KVM_SET_GSI_ROUTING, &r));
	memset(&r, 0, sizeof(r));
	route_msi(&r, 4, MSI_DEST(0), 0x70);
	r.e[0].flags = 2;
	result("SET_GSI_ROUTING msi flags 2", ioctl(m.vm.fd, KVM_SET_GSI_ROUTING, &r));
	/* Lines, MSIs and the PIT. */
	line.irq = 4096;
	result("IRQ_LINE gsi 4096", ioctl(m.vm.fd, KVM_IRQ_LINE, &line));
	msi.flags = 2;
	result("SIGNAL_MSI flags 2", ioctl(m.vm.fd, KVM_SIGNAL_MSI, &msi));
	msi.flags = 0;
	result("GET_PIT2 without a PIT", ioctl(m.vm.fd, KVM_GET_PIT2, &pit));
	result("SET_PIT2 without a PIT", ioctl(m.vm.fd, KVM_SET_PIT2, &pit));
	result("REINJECT_CONTROL without a PIT", ioctl(m.vm.fd, KVM_REINJECT_CONTROL, &reinject));
	cap.cap = KVM_CAP_X2APIC_API;
	cap.args[0] = 4;
	result("ENABLE_CAP X2APIC_API 4", ioctl(m.vm.fd, KVM_ENABLE_CAP, &cap));
	if (add_vcpu(&m) || add_vcpu(&m))
		goto out;
	/* vCPU ioctls. */
	struct kvm_interrupt irq = {.irq = 256};
	result("KVM_INTERRUPT 256", ioctl(m.cpu[0].fd, KVM_INTERRUPT, &irq));
	irq.irq = 0x20;
	result("KVM_INTERRUPT 0x20", ioctl(m.cpu[0].fd, KVM_INTERRUPT, &irq));
	mp_state(&m, 0);
	mp_state(&m, 1);
	static const uint32_t states[] = {KVM_MP_STATE_STOPPED, KVM_MP_STATE_CHECK_STOP, KVM_MP_STATE_OPERATING,
					  KVM_MP_STATE_LOAD, KVM_MP_STATE_SUSPENDED, 11};
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		set_mp_state(&m, 1, states[i]);
	mp_state(&m, 1);
	set_mp_state(&m, 1, KVM_MP_STATE_AP_RESET_HOLD);
	mp_state(&m, 1);
	set_mp_state(&m, 1, KVM_MP_STATE_HALTED);
	mp_state(&m, 1);
	set_mp_state(&m, 1, KVM_MP_STATE_INIT_RECEIVED);
	mp_state(&m, 1);
	/* SIPI_RECEIVED: INIT_RECEIVED with a SIPI (vector 0) pending, which
	 * GET_MP_STATE takes: CS 0, IP 0, RUNNABLE. */
	set_mp_state(&m, 1, KVM_MP_STATE_SIPI_RECEIVED);
	mp_state(&m, 1);
	struct kvm_sregs sr;
	struct kvm_regs regs;
	if (!ioctl(m.cpu[1].fd, KVM_GET_SREGS, &sr) && !ioctl(m.cpu[1].fd, KVM_GET_REGS, &regs))
		say("vcpu1 cs 0x%04x base 0x%llx rip 0x%llx", sr.cs.selector, (unsigned long long)sr.cs.base,
		    (unsigned long long)regs.rip);
	set_mp_state(&m, 1, KVM_MP_STATE_UNINITIALIZED);
	mp_state(&m, 1);
	/* KVM_SET_LAPIC rewrites LVR and keeps what else it is given. */
	if (!get_lapic(&m, 1, &lapic)) {
		set_apic_reg(&lapic, 0x30, 0x12345678);
		set_apic_reg(&lapic, 0x80, 0x20);
		set_apic_reg(&lapic, 0xe0, 0x0fffffff);
		result("vcpu1 SET_LAPIC", ioctl(m.cpu[1].fd, KVM_SET_LAPIC, &lapic));
		if (!get_lapic(&m, 1, &lapic))
			say("vcpu1 lvr 0x%08x tpr 0x%08x dfr 0x%08x ppr 0x%08x", apic_reg(&lapic, 0x30),
			    apic_reg(&lapic, 0x80), apic_reg(&lapic, 0xe0), apic_reg(&lapic, 0xa0));
	}
	end_machine(&m);

	/* The split irqchip. */
	if (new_machine(&m, "errors_split"))
		return;
	cap.cap = KVM_CAP_SPLIT_IRQCHIP;
	cap.args[0] = 4097;
	result("ENABLE_CAP SPLIT_IRQCHIP 4097", ioctl(m.vm.fd, KVM_ENABLE_CAP, &cap));
	cap.args[0] = 24;
	cap.flags = 1;
	result("ENABLE_CAP SPLIT_IRQCHIP flags 1", ioctl(m.vm.fd, KVM_ENABLE_CAP, &cap));
	cap.flags = 0;
	result("ENABLE_CAP SPLIT_IRQCHIP 24", ioctl(m.vm.fd, KVM_ENABLE_CAP, &cap));
	result("ENABLE_CAP SPLIT_IRQCHIP again", ioctl(m.vm.fd, KVM_ENABLE_CAP, &cap));
	result("CREATE_IRQCHIP", ioctl(m.vm.fd, KVM_CREATE_IRQCHIP, 0));
	chip.chip_id = KVM_IRQCHIP_PIC_MASTER;
	result("GET_IRQCHIP", ioctl(m.vm.fd, KVM_GET_IRQCHIP, &chip));
	result("SET_IRQCHIP", ioctl(m.vm.fd, KVM_SET_IRQCHIP, &chip));
	line.irq = 4;
	line.level = 1;
	result("IRQ_LINE unrouted", ioctl(m.vm.fd, KVM_IRQ_LINE, &line));
	memset(&r, 0, sizeof(r));
	route_chip(&r, 3, KVM_IRQCHIP_IOAPIC, 3);
	result("SET_GSI_ROUTING an IOAPIC route", ioctl(m.vm.fd, KVM_SET_GSI_ROUTING, &r));
	if (add_vcpu(&m) || add_vcpu(&m))
		goto out;
	mp_state(&m, 0);
	mp_state(&m, 1);
	irq.irq = 0x20;
	result("KVM_INTERRUPT", ioctl(m.cpu[0].fd, KVM_INTERRUPT, &irq));
	result("KVM_INTERRUPT again", ioctl(m.cpu[0].fd, KVM_INTERRUPT, &irq));
	if (!get_lapic(&m, 0, &lapic))
		say("vcpu0 lvr 0x%08x (no CPUID yet)", apic_reg(&lapic, 0x30));
	end_machine(&m);

	/* x2APIC IDs in KVM_GET/SET_LAPIC. */
	for (int ids32 = 1; ids32 >= 0; ids32--) {
		if (new_machine(&m, ids32 ? "errors_x2apic_32bit_ids" : "errors_x2apic"))
			return;
		cap.cap = KVM_CAP_X2APIC_API;
		cap.args[0] = ids32 ? KVM_X2APIC_API_USE_32BIT_IDS : 0;
		if (result("CREATE_IRQCHIP", ioctl(m.vm.fd, KVM_CREATE_IRQCHIP, 0)) ||
		    result("ENABLE_CAP X2APIC_API", ioctl(m.vm.fd, KVM_ENABLE_CAP, &cap)) || add_vcpu(&m) ||
		    add_vcpu(&m) || result("SET_CPUID2", vmm_set_cpuid(dev, m.cpu[1].fd)))
			goto out;
		struct {
			struct kvm_msrs h;
			struct kvm_msr_entry e[1];
		} msrs = {.h.nmsrs = 1, .e[0] = {.index = 0x1b, .data = 0xfee00000 | 0x800 | 0x400}};
		result("vcpu1 SET_MSRS APIC_BASE x2APIC", ioctl(m.cpu[1].fd, KVM_SET_MSRS, &msrs));
		if (get_lapic(&m, 1, &lapic))
			goto out;
		say("vcpu1 x2apic id 0x%08x ldr 0x%08x", apic_reg(&lapic, 0x20), apic_reg(&lapic, 0xd0));
		set_apic_reg(&lapic, 0x20, ids32 ? 5 : 5u << 24);
		result("vcpu1 SET_LAPIC id 5", ioctl(m.cpu[1].fd, KVM_SET_LAPIC, &lapic));
		if (get_lapic(&m, 1, &lapic))
			goto out;
		say("vcpu1 x2apic id 0x%08x ldr 0x%08x", apic_reg(&lapic, 0x20), apic_reg(&lapic, 0xd0));
		msi.address_lo = MSI_DEST(0);
		msi.address_hi = 1;
		msi.flags = 0;
		result("SIGNAL_MSI address_hi 1", ioctl(m.vm.fd, KVM_SIGNAL_MSI, &msi));
		msi.address_hi = 0;
		end_machine(&m);
	}
	return;
out:
	end_machine(&m);
}

/* ---- The capabilities ---- */

static void caps(void)
{
	static const struct {
		const char *name;
		int cap;
	} list[] = {
		{"IRQCHIP", KVM_CAP_IRQCHIP},
		{"HLT", KVM_CAP_HLT},
		{"PIT", KVM_CAP_PIT},
		{"MP_STATE", KVM_CAP_MP_STATE},
		{"REINJECT_CONTROL", KVM_CAP_REINJECT_CONTROL},
		{"IRQ_ROUTING", KVM_CAP_IRQ_ROUTING},
		{"IRQ_INJECT_STATUS", KVM_CAP_IRQ_INJECT_STATUS},
		{"PIT2", KVM_CAP_PIT2},
		{"SET_BOOT_CPU_ID", KVM_CAP_SET_BOOT_CPU_ID},
		{"PIT_STATE2", KVM_CAP_PIT_STATE2},
		{"SIGNAL_MSI", KVM_CAP_SIGNAL_MSI},
		{"TSC_DEADLINE_TIMER", KVM_CAP_TSC_DEADLINE_TIMER},
		{"IOAPIC_POLARITY_IGNORED", KVM_CAP_IOAPIC_POLARITY_IGNORED},
		{"SPLIT_IRQCHIP", KVM_CAP_SPLIT_IRQCHIP},
		{"X2APIC_API", KVM_CAP_X2APIC_API},
		{"MSI_DEVID", KVM_CAP_MSI_DEVID},
	};
	scenario = "caps";
	for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++)
		result(list[i].name, ioctl(dev, KVM_CHECK_EXTENSION, list[i].cap));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: kvm_irqchip DEVICE\n");
		return 2;
	}
	dev = vmm_open(argv[1]);
	if (dev < 0) {
		printf("open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* The watchdog, and vCPU 1's way out of KVM_RUN: no SA_RESTART. */
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	caps();
	pic_pit();
	lapic_timer();
	ipi();
	ioapic();
	msi();
	split(24);
	split(4);
	errors();
	return 0;
}
