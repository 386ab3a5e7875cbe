// Package archvariant is a small stand-in for github.com/tonistiigi/go-archvariant, which Debian
// does not package: the x86-64 microarchitecture level (v1..v4) of the running CPU.
package archvariant

import "golang.org/x/sys/cpu"

func AMD64Variant() string {
	x := cpu.X86
	v2 := x.HasPOPCNT && x.HasSSE3 && x.HasSSE41 && x.HasSSE42 && x.HasSSSE3
	v3 := v2 && x.HasAVX && x.HasAVX2 && x.HasBMI1 && x.HasBMI2 && x.HasFMA && x.HasOSXSAVE
	v4 := v3 && x.HasAVX512F && x.HasAVX512BW && x.HasAVX512CD && x.HasAVX512DQ && x.HasAVX512VL
	switch {
	case v4:
		return "v4"
	case v3:
		return "v3"
	case v2:
		return "v2"
	}
	return "v1"
}
