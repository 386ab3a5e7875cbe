// Package packageurl is a small stand-in for github.com/package-url/packageurl-go, which Debian
// does not package: Package URLs (pkg:type/namespace/name@version?qualifiers#subpath), as
// BuildKit uses them in provenance and image names.
package packageurl

import (
	"errors"
	"net/url"
	"sort"
	"strings"
)

const (
	TypeDocker = "docker"
	TypeOCI    = "oci"
)

type Qualifier struct {
	Key   string
	Value string
}

type Qualifiers []Qualifier

func (qq Qualifiers) Map() map[string]string {
	m := make(map[string]string, len(qq))
	for _, q := range qq {
		m[q.Key] = q.Value
	}
	return m
}

type PackageURL struct {
	Type       string
	Namespace  string
	Name       string
	Version    string
	Qualifiers Qualifiers
	Subpath    string
}

func NewPackageURL(purlType, namespace, name, version string, qualifiers Qualifiers, subpath string) *PackageURL {
	return &PackageURL{Type: purlType, Namespace: namespace, Name: name, Version: version, Qualifiers: qualifiers, Subpath: subpath}
}

func escape(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "%2F", "/")
}

func (p *PackageURL) ToString() string {
	var b strings.Builder
	b.WriteString("pkg:" + p.Type + "/")
	if p.Namespace != "" {
		b.WriteString(escape(p.Namespace) + "/")
	}
	b.WriteString(url.PathEscape(p.Name))
	if p.Version != "" {
		b.WriteString("@" + url.PathEscape(p.Version))
	}
	if len(p.Qualifiers) > 0 {
		qq := append(Qualifiers(nil), p.Qualifiers...)
		sort.Slice(qq, func(i, j int) bool { return qq[i].Key < qq[j].Key })
		parts := make([]string, 0, len(qq))
		for _, q := range qq {
			parts = append(parts, q.Key+"="+url.QueryEscape(q.Value))
		}
		b.WriteString("?" + strings.Join(parts, "&"))
	}
	if p.Subpath != "" {
		b.WriteString("#" + escape(p.Subpath))
	}
	return b.String()
}

func (p PackageURL) String() string { return p.ToString() }

func FromString(s string) (PackageURL, error) {
	if !strings.HasPrefix(s, "pkg:") {
		return PackageURL{}, errors.New("purl scheme is not \"pkg\"")
	}
	s = strings.TrimPrefix(s, "pkg:")
	var p PackageURL
	if i := strings.LastIndex(s, "#"); i >= 0 {
		p.Subpath, _ = url.PathUnescape(s[i+1:])
		s = s[:i]
	}
	if i := strings.LastIndex(s, "?"); i >= 0 {
		for _, kv := range strings.Split(s[i+1:], "&") {
			k, v, _ := strings.Cut(kv, "=")
			v, _ = url.QueryUnescape(v)
			p.Qualifiers = append(p.Qualifiers, Qualifier{Key: strings.ToLower(k), Value: v})
		}
		s = s[:i]
	}
	t, rest, ok := strings.Cut(strings.TrimLeft(s, "/"), "/")
	if !ok || t == "" {
		return PackageURL{}, errors.New("purl is missing type or name")
	}
	p.Type = strings.ToLower(t)
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		p.Version, _ = url.PathUnescape(rest[i+1:])
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		p.Namespace, _ = url.PathUnescape(rest[:i])
		rest = rest[i+1:]
	}
	p.Name, _ = url.PathUnescape(rest)
	if p.Name == "" {
		return PackageURL{}, errors.New("purl is missing name")
	}
	return p, nil
}
