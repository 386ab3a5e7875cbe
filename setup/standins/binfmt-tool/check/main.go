// A program that does nothing and exits 0: the binfmt stand-in runs one per platform, and a
// platform counts as supported when this kernel (with its binfmt_misc handlers) runs it. Go's
// runtime refuses to start on an amd64 CPU below the binary's GOAMD64 level, which tells the
// levels apart.
package main

func main() {}
