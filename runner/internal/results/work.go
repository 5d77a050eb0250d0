package results

import "strings"

// WorkSep joins a model's label and the work each of its messages cost
// (bench --work, the contract's C10K_WORK): "epoll@cpu=200us". A run that
// measures models under several work settings names each measurement so,
// and the report's model × work matrix splits the labels again.
const WorkSep = "@"

// WorkLabel is label measured under work; work "" is the plain echo, whose
// label stays as it was.
func WorkLabel(label, work string) string {
	if work == "" {
		return label
	}
	return label + WorkSep + work
}

// SplitWork is WorkLabel's inverse: the model's label and its work, "" for
// none.
func SplitWork(label string) (model, work string) {
	model, work, _ = strings.Cut(label, WorkSep)
	return model, work
}
