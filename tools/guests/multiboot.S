/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A multiboot (v1) kernel for a real VMM: `qemu-system-x86_64 -accel kvm
 * -machine kernel_irqchip=off -kernel multiboot.elf -device
 * isa-debug-exit,iobase=0xf4,iosize=4`, on KVM or under `axvm exec`. It
 * takes the machine's own PIC and PIT (QEMU's, in userspace) through every
 * mode: 32-bit protected mode as the loader leaves it, down to real mode
 * and back, then long mode. In each mode it loads its own interrupt table,
 * waits in `sti; hlt` for TICKS timer interrupts (IRQ 0 at vector 0x20,
 * one dot each), and prints its progress on the serial port 0x3f8. The
 * text never depends on timing, so two runs print the same bytes. It ends
 * by writing EXIT_OK to QEMU's isa-debug-exit port (QEMU's exit status is
 * then EXIT_OK * 2 + 1 = 33); an unexpected exception prints its vector
 * and exits with EXIT_FAIL (status 3).
 *
 * Assembled as 64-bit code (it has 16-, 32- and 64-bit parts), linked at
 * 1 MiB, then converted to ELF32, the only ELF QEMU's multiboot loader takes
 * (tools/Makefile). Everything is in .text: one loadable segment, no .bss.
 * The multiboot specification: https://www.gnu.org/software/grub/manual/multiboot/
 */
#define MB_MAGIC 0x1badb002     /* header magic */
#define MB_LOADER 0x2badb002    /* %eax at entry */

#define SERIAL 0x3f8
#define SERIAL_LSR (SERIAL + 5)
#define LSR_THRE 0x20           /* transmit holding register empty */
#define PIC1 0x20
#define PIC2 0xa0
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_DIVISOR 11932       /* 1193182 Hz / 11932: 100 Hz */
#define EXIT_PORT 0xf4
#define EXIT_OK 0x10
#define EXIT_FAIL 0x01
#define TICKS 5
#define IRQ0_VECTOR 0x20

/* Low memory (free once the loader is done; the loader's own data, the
 * multiboot information, lies above the kernel). */
#define TRAMPOLINE 0x7000       /* the real-mode code is copied here */
#define REAL_STACK 0x7000       /* and its stack grows down from here */
#define IDT32 0x10000           /* 256 8-byte gates */
#define PML4 0x11000
#define PDPT 0x12000
#define PD 0x13000              /* 512 2-MiB pages: the first GiB */
#define IDT64 0x14000           /* 256 16-byte gates */
#define STACK_TOP 0x30000

/* GDT selectors (gdt below) */
#define CODE32 0x08
#define DATA32 0x10
#define CODE16 0x18
#define DATA16 0x20
#define CODE64 0x28

/* The real-mode code runs at TRAMPOLINE with CS = TRAMPOLINE >> 4: its
 * labels are offsets from trampoline. */
#define TOFF(label) ((label) - trampoline)

	.text
	.globl _start

	/* Multiboot header: no flags, so QEMU loads by the ELF headers. */
	.code32
	.balign 4
mb_header:
	.long MB_MAGIC, 0, -MB_MAGIC

_start:
	cli
	lgdt gdtr
	ljmp $CODE32, $1f
1:	mov $DATA32, %cx
	mov %cx, %ds
	mov %cx, %es
	mov %cx, %ss
	mov %cx, %fs
	mov %cx, %gs
	mov $STACK_TOP, %esp
	cld
	mov $msg_magic_bad, %esi
	cmp $MB_LOADER, %eax
	jne fail32
	mov $msg_start, %esi
	call puts32

	/* The PICs: ICW1 (edge, cascade, ICW4), ICW2 (vector bases 0x20 and
	 * 0x28), ICW3 (slave on IRQ 2), ICW4 (8086 mode); then only IRQ 0
	 * unmasked. The PIT's channel 0: lobyte/hibyte, mode 2 (rate
	 * generator), binary. (8259A and 8254 data sheets.) */
	mov $0x11, %al
	out %al, $PIC1
	out %al, $PIC2
	mov $IRQ0_VECTOR, %al
	out %al, $(PIC1 + 1)
	mov $(IRQ0_VECTOR + 8), %al
	out %al, $(PIC2 + 1)
	mov $0x04, %al
	out %al, $(PIC1 + 1)
	mov $0x02, %al
	out %al, $(PIC2 + 1)
	mov $0x01, %al
	out %al, $(PIC1 + 1)
	out %al, $(PIC2 + 1)
	mov $0xfe, %al
	out %al, $(PIC1 + 1)
	mov $0xff, %al
	out %al, $(PIC2 + 1)
	mov $0x34, %al
	out %al, $PIT_CMD
	mov $(PIT_DIVISOR & 0xff), %al
	out %al, $PIT_CH0
	mov $(PIT_DIVISOR >> 8), %al
	out %al, $PIT_CH0
	mov $msg_pic, %esi
	call puts32

	/* ---- 32-bit protected mode: interrupt gates, TICKS ticks ---- */
	call idt32_build
	lidt idtr32
	mov $msg_pm, %esi
	call puts32
	movl $0, ticks
1:	cli
	cmpl $TICKS, ticks
	jae 2f
	sti
	hlt                     /* in STI's shadow: no tick is lost before it */
	jmp 1b
2:	mov $msg_nl, %esi
	call puts32

	/* ---- down to real mode and back ---- */
	mov $trampoline, %esi
	mov $TRAMPOLINE, %edi
	mov $(trampoline_end - trampoline), %ecx
	rep movsb
	ljmp $CODE16, $(TRAMPOLINE + TOFF(real16))
back32:	/* from the trampoline, with CODE32 in CS */
	mov $DATA32, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $STACK_TOP, %esp
	lidt idtr32
	mov $msg_pm_again, %esi
	call puts32

	/* ---- long mode: identity-map the first GiB with 2-MiB pages ---- */
	mov $PML4, %edi
	xor %eax, %eax
	mov $(3 * 4096 / 4), %ecx
	rep stosl
	movl $(PDPT | 3), PML4          /* present, writable */
	movl $(PD | 3), PDPT
	mov $PD, %edi
	mov $0x83, %eax                 /* present, writable, 2-MiB page */
	mov $512, %ecx
1:	mov %eax, (%edi)
	add $0x200000, %eax
	add $8, %edi
	loop 1b
	mov %cr4, %eax
	or $0x20, %eax                  /* CR4.PAE */
	mov %eax, %cr4
	mov $PML4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx           /* EFER */
	rdmsr
	or $0x100, %eax                 /* EFER.LME */
	wrmsr
	mov %cr0, %eax
	or $0x80000000, %eax            /* CR0.PG: long mode is active */
	mov %eax, %cr0
	ljmp $CODE64, $long64

/* %esi: a NUL-terminated string to the serial port. */
puts32:
	push %eax
	push %edx
1:	lodsb
	test %al, %al
	jz 2f
	call putc32
	jmp 1b
2:	pop %edx
	pop %eax
	ret

/* %al to the serial port, once it can take it. */
putc32:
	push %edx
	push %eax
	mov $SERIAL_LSR, %dx
1:	in %dx, %al
	test $LSR_THRE, %al
	jz 1b
	pop %eax
	mov $SERIAL, %dx
	out %al, %dx
	pop %edx
	ret

/* The 32-bit IDT: exceptions are fatal, IRQ 0 ticks, the rest (PIC
 * vectors, spurious interrupts) return at once. */
idt32_build:
	mov $IDT32, %edi
	xor %ecx, %ecx
1:	mov $ignore32, %eax
	cmp $IRQ0_VECTOR, %ecx
	jne 2f
	mov $tick32, %eax
2:	cmp $32, %ecx
	jae 3f
	mov $exc32_stubs, %eax          /* 8 bytes per stub */
	lea (%eax, %ecx, 8), %eax
3:	mov %ax, (%edi)                 /* offset 15:0 */
	movw $CODE32, 2(%edi)
	movw $0x8e00, 4(%edi)           /* present, DPL 0, 32-bit interrupt gate */
	shr $16, %eax
	mov %ax, 6(%edi)                /* offset 31:16 */
	add $8, %edi
	inc %ecx
	cmp $256, %ecx
	jb 1b
	ret

tick32:
	push %eax
	cmpl $TICKS, ticks              /* count (and print) only the first TICKS */
	jae 1f
	incl ticks
	mov $'.', %al
	call putc32
1:	mov $0x20, %al                  /* non-specific EOI */
	out %al, $PIC1
	pop %eax
	iret

ignore32:
	iret

	.balign 8
exc32_stubs:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 8
	push $\vec
	jmp exc32
	.endr

exc32:
	mov $msg_exc, %esi
	call puts32
	mov (%esp), %eax
	call hex8_32
	mov $msg_nl, %esi
	/* fall through */

/* %esi: the last words; then EXIT_FAIL. */
fail32:
	call puts32
	mov $EXIT_FAIL, %eax
	out %eax, $EXIT_PORT
1:	cli
	hlt
	jmp 1b

/* %al as two hex digits. */
hex8_32:
	push %eax
	shr $4, %al
	call 1f
	pop %eax
1:	and $0xf, %al
	add $'0', %al
	cmp $'9', %al
	jbe 2f
	add $('a' - '0' - 10), %al
2:	jmp putc32

/* ---- real mode: copied to TRAMPOLINE, reached through 16-bit protected
 * mode (CODE16, base 0, 64 KiB limits, so the segment caches hold real-mode
 * limits when CR0.PE goes). Position-independent by construction: every
 * address is TOFF() from CS = DS = TRAMPOLINE >> 4. ---- */
	.code16
trampoline:
real16:
	mov $DATA16, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov %cr0, %eax
	and $~1, %eax                   /* CR0.PE off: real mode */
	mov %eax, %cr0
	ljmp $(TRAMPOLINE >> 4), $TOFF(real)
real:
	mov $(TRAMPOLINE >> 4), %ax
	mov %ax, %ds
	xor %ax, %ax
	mov %ax, %ss
	mov $REAL_STACK, %sp
	mov %ax, %es                    /* ES: the IVT at 0 */
	/* IVT: vector 0x20 ticks, 0x21-0x2f (the PICs' other vectors) return. */
	mov $(IRQ0_VECTOR * 4), %di
	mov $TOFF(tick16), %ax
	mov $16, %cx
1:	mov %ax, %es:(%di)
	movw $(TRAMPOLINE >> 4), %es:2(%di)
	mov $TOFF(ignore16), %ax
	add $4, %di
	loop 1b
	lidt TOFF(idtr16)
	mov $TOFF(msg_real), %si
	call puts16
	movw $0, TOFF(ticks16)
1:	cli
	cmpw $TICKS, TOFF(ticks16)
	jae 2f
	sti
	hlt
	jmp 1b
2:	mov $TOFF(msg_nl16), %si
	call puts16
	/* back to protected mode */
	lgdtl TOFF(gdtr16)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $CODE32, $back32

tick16:
	push %ax
	push %ds
	mov $(TRAMPOLINE >> 4), %ax
	mov %ax, %ds
	cmpw $TICKS, TOFF(ticks16)
	jae 1f
	incw TOFF(ticks16)
	mov $'.', %al
	call putc16
1:	mov $0x20, %al
	out %al, $PIC1
	pop %ds
	pop %ax
	iret

ignore16:
	iret

/* DS:%si: a NUL-terminated string to the serial port. */
puts16:
	push %ax
1:	lodsb
	test %al, %al
	jz 2f
	call putc16
	jmp 1b
2:	pop %ax
	ret

putc16:
	push %dx
	push %ax
	mov $SERIAL_LSR, %dx
1:	in %dx, %al
	test $LSR_THRE, %al
	jz 1b
	pop %ax
	mov $SERIAL, %dx
	out %al, %dx
	pop %dx
	ret

idtr16:	.word 0x3ff                 /* the IVT */
	.long 0
gdtr16:	.word gdt_end - gdt - 1        /* the GDT, where it was linked */
	.long gdt
ticks16: .word 0
msg_real: .asciz "real mode: IVT loaded, waiting for 5 ticks: "
msg_nl16: .asciz "\n"
trampoline_end:

/* ---- 64-bit long mode ---- */
	.code64
long64:
	mov $DATA32, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $STACK_TOP, %rsp
	call idt64_build
	lidt idtr64
	mov $msg_long, %esi
	call puts64
	movl $0, ticks
1:	cli
	cmpl $TICKS, ticks
	jae 2f
	sti
	hlt
	jmp 1b
2:	mov $msg_nl, %esi
	call puts64
	mov $msg_done, %esi
	call puts64
	mov $EXIT_OK, %eax
	out %eax, $EXIT_PORT
	jmp halt64

puts64:
	push %rax
1:	lodsb
	test %al, %al
	jz 2f
	call putc64
	jmp 1b
2:	pop %rax
	ret

putc64:
	push %rdx
	push %rax
	mov $SERIAL_LSR, %dx
1:	in %dx, %al
	test $LSR_THRE, %al
	jz 1b
	pop %rax
	mov $SERIAL, %dx
	out %al, %dx
	pop %rdx
	ret

idt64_build:
	mov $IDT64, %edi
	xor %ecx, %ecx
1:	mov $ignore64, %eax
	cmp $IRQ0_VECTOR, %ecx
	jne 2f
	mov $tick64, %eax
2:	cmp $32, %ecx
	jae 3f
	mov $exc64_stubs, %eax          /* 16 bytes per stub */
	shl $4, %ecx
	add %ecx, %eax
	shr $4, %ecx
3:	mov %ax, (%rdi)                 /* offset 15:0 */
	movw $CODE64, 2(%rdi)
	movw $0x8e00, 4(%rdi)           /* present, DPL 0, 64-bit interrupt gate */
	shr $16, %eax
	mov %ax, 6(%rdi)                /* offset 31:16 */
	movl $0, 8(%rdi)                /* offset 63:32 (the image is below 4 GiB) */
	movl $0, 12(%rdi)
	add $16, %rdi
	inc %ecx
	cmp $256, %ecx
	jb 1b
	ret

tick64:
	push %rax
	cmpl $TICKS, ticks
	jae 1f
	incl ticks
	mov $'.', %al
	call putc64
1:	mov $0x20, %al
	out %al, $PIC1
	pop %rax
	iretq

ignore64:
	iretq

	.balign 16
exc64_stubs:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 16
	push $\vec
	jmp exc64
	.endr

exc64:
	mov $msg_exc, %esi
	call puts64
	mov (%rsp), %eax
	push %rax
	shr $4, %al
	call 1f
	pop %rax
	call 1f
	mov $msg_nl, %esi
	call puts64
	mov $EXIT_FAIL, %eax
	out %eax, $EXIT_PORT
	jmp halt64
1:	and $0xf, %al
	add $'0', %al
	cmp $'9', %al
	jbe 2f
	add $('a' - '0' - 10), %al
2:	jmp putc64

halt64:
	cli
	hlt
	jmp halt64

/* ---- data ---- */
	.balign 8
gdt:	.quad 0
	.quad 0x00cf9a000000ffff        /* CODE32: base 0, 4 GiB, 32-bit */
	.quad 0x00cf92000000ffff        /* DATA32 */
	.quad 0x00009a000000ffff        /* CODE16: base 0, 64 KiB, 16-bit */
	.quad 0x000092000000ffff        /* DATA16 */
	.quad 0x00af9a000000ffff        /* CODE64: L set */
gdt_end:
gdtr:	.word gdt_end - gdt - 1
	.long gdt
	.balign 8
idtr32:	.word 256 * 8 - 1
	.long IDT32
	.balign 8
idtr64:	.word 256 * 16 - 1
	.quad IDT64
ticks:	.long 0

msg_start:	.asciz "multiboot: 32-bit protected mode, loader magic ok\n"
msg_magic_bad:	.asciz "multiboot: not started by a multiboot loader\n"
msg_pic:	.asciz "PICs at vectors 0x20 and 0x28, PIT channel 0 at 100 Hz\n"
msg_pm:		.asciz "protected mode: IDT loaded, waiting for 5 ticks: "
msg_pm_again:	.asciz "protected mode again\n"
msg_long:	.asciz "long mode: IDT loaded, waiting for 5 ticks: "
msg_done:	.asciz "all modes done, exiting through port 0xf4\n"
msg_exc:	.asciz "\nunexpected exception, vector 0x"
msg_nl:		.asciz "\n"
