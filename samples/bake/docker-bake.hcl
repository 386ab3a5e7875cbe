# Two samples of this repository and a matrix, built with one `docker buildx bake`. Paths are
# relative to this folder: run `docker buildx bake` here (multiarch-harness runs it here too).
# Tags are the images' names on a registry of your own; a harness run replaces them with its
# session registry's.

variable "REGISTRY" {
  default = "docker.io/example"
}

group "default" {
  targets = ["hello", "echo", "greeting"]
}

# The Go sample, cross-compiled on the build platform onto scratch (GOARM from TARGETVARIANT).
target "hello" {
  context    = "../hello-go"
  dockerfile = "Dockerfile.cross-scratch"
  platforms  = ["linux/amd64", "linux/386", "linux/arm/v6", "linux/arm/v7", "linux/arm64", "linux/ppc64le", "linux/s390x"]
  tags       = ["${REGISTRY}/hello:latest"]
}

# The echo-platform sample: alpine, its RUN under QEMU for a foreign platform, prints uname -a.
target "echo" {
  context   = "../echo-platform"
  platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
  tags      = ["${REGISTRY}/echo-platform:latest"]
}

# One target expanded over a build argument: greeting-en and greeting-fr.
target "greeting" {
  name = "greeting-${item.lang}"
  matrix = {
    item = [
      { lang = "en", greeting = "Hello" },
      { lang = "fr", greeting = "Bonjour" },
    ]
  }
  context    = "."
  dockerfile = "Dockerfile.greeting"
  args = {
    GREETING = item.greeting
  }
  platforms = ["linux/amd64", "linux/arm64"]
  tags      = ["${REGISTRY}/greeting:${item.lang}"]
}
