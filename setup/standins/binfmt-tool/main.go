// Offline stand-in for /usr/bin/binfmt of the tonistiigi/binfmt image, written for
// multiarch-harness (it shares no code with the original). Same command line and same output:
//
//	binfmt                      prints {"supported": [...], "emulators": [...]} on stdout
//	binfmt --install all|ARCH,… registers QEMU handlers (flags CF, plus P when
//	                            QEMU_PRESERVE_ARGV0 is set), skipping what already runs
//	binfmt --uninstall NAME,…   removes handlers (qemu-aarch64, aarch64, arm64, qemu-*)
//	binfmt --version            binfmt/… qemu/… go/…
//
// Progress and errors go to stderr ("installing: arm64 OK"); like the original, an error is
// logged and the exit status stays 0. Emulators come from Debian's qemu-user-static.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// Set at build time (-ldflags -X).
var (
	qemuVersion = "unknown"
	checksDir   = "/usr/share/binfmt-standin/checks"
)

// One binfmt_misc handler per architecture. Magic and mask are QEMU's
// (scripts/qemu-binfmt-conf.sh, as Debian ships them in /usr/share/binfmts).
type handler struct {
	arch   string // GOARCH / OCI architecture
	binary string // emulator file name, also the handler's name
	magic  string
	mask   string
}

const (
	elf64LE     = `\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00`
	elf64BE     = `\x7fELF\x02\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00`
	elf32LE     = `\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00`
	maskLE      = `\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`
	maskBE      = `\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff`
	maskX86     = `\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`
	maskMips64  = `\xff\xff\xff\xff\xff\xff\xff\x00\xfe\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`
	maskMips64B = `\xff\xff\xff\xff\xff\xff\xff\x00\xfe\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff`
)

var handlers = []handler{
	{"amd64", "qemu-x86_64", elf64LE + `\x3e\x00`, maskX86},
	{"arm64", "qemu-aarch64", elf64LE + `\xb7\x00`, maskLE},
	{"arm", "qemu-arm", elf32LE + `\x28\x00`, maskLE},
	{"s390x", "qemu-s390x", elf64BE + `\x16`, maskBE},
	{"ppc64le", "qemu-ppc64le", elf64LE + `\x15\x00`, `\xff\xff\xff\xff\xff\xff\xff\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\x00`},
	{"riscv64", "qemu-riscv64", elf64LE + `\xf3\x00`, maskLE},
	{"386", "qemu-i386", elf32LE + `\x03\x00`, maskX86},
	{"mips64le", "qemu-mips64el", elf64LE + `\x08\x00`, maskMips64},
	{"mips64", "qemu-mips64", elf64BE + `\x08`, maskMips64B},
	{"loong64", "qemu-loongarch64", elf64LE + `\x02\x01`, `\xff\xff\xff\xff\xff\xff\xff\xfc\x00\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`},
}

func handlerFor(arch string) (handler, bool) {
	for _, h := range handlers {
		if h.arch == arch {
			return h, true
		}
	}
	return handler{}, false
}

var archAliases = map[string]string{
	"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm",
	"i386": "386", "i686": "386", "ppc64el": "ppc64le", "mips64el": "mips64le", "loongarch64": "loong64",
}

// archOf reads "arm64", "linux/arm64" or "linux/arm/v7" as an architecture.
func archOf(spec string) (string, bool) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(spec)), "/")
	arch := parts[0]
	if len(parts) > 1 {
		arch = parts[1]
	}
	if a, ok := archAliases[arch]; ok {
		arch = a
	}
	_, known := handlerFor(arch)
	return arch, known
}

func emulatorPath(h handler) (string, string, error) {
	dir := "/usr/bin"
	if v := os.Getenv("QEMU_BINARY_PATH"); v != "" {
		dir = v
	}
	name := h.binary
	if prefix := os.Getenv("QEMU_BINARY_PREFIX"); prefix != "" {
		if strings.ContainsRune(prefix, os.PathSeparator) {
			return "", "", errors.New("binary prefix must not contain path separator (Hint: set $QEMU_BINARY_PATH to specify the directory)")
		}
		name = prefix + name
	}
	return name, filepath.Join(dir, name), nil
}

func register(mount string, h handler) error {
	registerFile := filepath.Join(mount, "register")
	f, err := os.OpenFile(registerFile, os.O_WRONLY, 0)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ENOENT):
			return fmt.Errorf("ENOENT opening %s is it mounted?", registerFile)
		case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
			return fmt.Errorf("EPERM opening %s check permissions?", registerFile)
		}
		return fmt.Errorf("Cannot open %s: %s", registerFile, err)
	}
	defer f.Close()
	name, path, err := emulatorPath(h)
	if err != nil {
		return err
	}
	flags := "CF"
	if os.Getenv("QEMU_PRESERVE_ARGV0") != "" {
		flags += "P"
	}
	if _, err := f.Write([]byte(fmt.Sprintf(":%s:M:0:%s:%s:%s:%s", name, h.magic, h.mask, path, flags))); err != nil {
		if errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("%s already registered", name)
		}
		return fmt.Errorf("cannot register %q to %s: %s", path, registerFile, err)
	}
	return nil
}

// unregister removes the entry called name, or ending in "-name".
func unregister(mount, name string) error {
	entries, err := os.ReadDir(mount)
	if err != nil {
		return err
	}
	for _, e := range entries {
		n := e.Name()
		if n == "register" || n == "status" {
			continue
		}
		if n == name || strings.HasSuffix(n, "-"+name) {
			return os.WriteFile(filepath.Join(mount, n), []byte("-1"), 0o600)
		}
	}
	return errors.New("not found")
}

// uninstallNames turns "arm64,qemu-riscv64,qemu-*" into handler names to remove.
func uninstallNames(mount, list string) []string {
	var out []string
	for _, v := range strings.Split(list, ",") {
		if v == "" {
			continue
		}
		if arch, ok := archOf(v); ok {
			h, _ := handlerFor(arch)
			v = strings.TrimPrefix(h.binary, "qemu-")
		}
		matches, _ := filepath.Glob(filepath.Join(mount, v))
		if len(matches) == 0 {
			out = append(out, v)
		}
		for _, m := range matches {
			out = append(out, filepath.Base(m))
		}
	}
	return out
}

// supported runs the check program of each platform (checksDir/NN-linux-arm-v7, in name order):
// what runs is supported. The native platform is listed first.
func supported() []string {
	entries, _ := os.ReadDir(checksDir) // sorted by name
	native := "linux/" + runtime.GOARCH
	var out []string
	for _, e := range entries {
		name := e.Name()
		if i := strings.IndexByte(name, '-'); i >= 0 {
			name = name[i+1:]
		}
		p := strings.ReplaceAll(name, "-", "/")
		if exec.Command(filepath.Join(checksDir, e.Name())).Run() != nil {
			continue
		}
		if p == native {
			out = append([]string{p}, out...)
		} else {
			out = append(out, p)
		}
	}
	return out
}

func enabledEmulators(mount string) ([]string, error) {
	entries, err := os.ReadDir(mount)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Name() == "register" || e.Name() == "status" {
			continue
		}
		text, err := os.ReadFile(filepath.Join(mount, e.Name()))
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(string(text), "enabled") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func printStatus(mount string) error {
	emulators, err := enabledEmulators(mount)
	if err != nil {
		return err
	}
	text, err := json.MarshalIndent(struct {
		Supported []string `json:"supported"`
		Emulators []string `json:"emulators"`
	}{supported(), emulators}, "", "  ")
	if err != nil {
		return err
	}
	fmt.Printf("%s\n", text)
	return nil
}

// toInstall: "all" means every architecture this image has an emulator for and that does not
// run already; otherwise the listed ones.
func toInstall(list string) []string {
	if list == "" {
		return nil
	}
	if list != "all" {
		var out []string
		for _, v := range strings.Split(list, ",") {
			arch, _ := archOf(v)
			out = append(out, arch)
		}
		return out
	}
	running := map[string]bool{}
	for _, p := range supported() {
		running[strings.Split(p, "/")[1]] = true
	}
	var out []string
	for _, h := range handlers {
		if running[h.arch] {
			continue
		}
		if _, path, err := emulatorPath(h); err != nil {
			out = append(out, h.arch) // install reports the error
		} else if _, err := os.Stat(path); err == nil {
			out = append(out, h.arch)
		}
	}
	return out
}

func run(mount, install, uninstall string, version bool) error {
	if version {
		log.Printf("binfmt/multiarch-harness-standin qemu/%s go/%s", qemuVersion, strings.TrimPrefix(runtime.Version(), "go"))
		return nil
	}
	if _, err := os.Stat(filepath.Join(mount, "status")); err != nil {
		if err := syscall.Mount("binfmt_misc", mount, "binfmt_misc", 0, ""); err != nil {
			return fmt.Errorf("cannot mount binfmt_misc filesystem at %s: %w", mount, err)
		}
		defer syscall.Unmount(mount, 0)
	}
	if uninstall != "" {
		for _, name := range uninstallNames(mount, uninstall) {
			if err := unregister(mount, name); err != nil {
				log.Printf("uninstalling: %s %v", name, err)
			} else {
				log.Printf("uninstalling: %s OK", name)
			}
		}
	}
	for _, arch := range toInstall(install) {
		h, ok := handlerFor(arch)
		var err error
		if !ok {
			err = fmt.Errorf("unsupported architecture: %v", arch)
		} else {
			err = register(mount, h)
		}
		if err != nil {
			log.Printf("installing: %s %v", arch, err)
		} else {
			log.Printf("installing: %s OK", arch)
		}
	}
	return printStatus(mount)
}

func main() {
	log.SetFlags(0)
	mount := flag.String("mount", "/proc/sys/fs/binfmt_misc", "binfmt_misc mount point")
	install := flag.String("install", "", "architectures to install")
	uninstall := flag.String("uninstall", "", "architectures to uninstall")
	version := flag.Bool("version", false, "display version")
	flag.Parse()
	if err := run(*mount, *install, *uninstall, *version); err != nil {
		log.Printf("error: %v", err)
	}
}
