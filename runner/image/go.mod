module c10klab/runner/image

go 1.26.8

replace c10klab => ../..

require (
	c10klab v0.0.0
	github.com/google/go-containerregistry v0.22.1
)

require (
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
