package results

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecodeTimeline: any bytes give records, a flagged cut or an error,
// never a panic; every record of a known type carries its payload; and
// what was read, written again, reads back whole and the same.
func FuzzDecodeTimeline(f *testing.F) {
	// Small seeds: the fuzzer minimises every input that finds new code,
	// and minimising a whole 15 KiB timeline takes it minutes.
	for _, r := range []Record{sample(1), step(1),
		{Type: TypeEvent, Event: &Event{Kind: EventStarted, Msg: "started"}},
		{Type: TypeReport, Report: &ServerReport{Kind: "accept", Errno: "EMFILE", Count: 3}}} {
		line := mustMarshal(f, r)
		f.Add(append(line, '\n'))
		f.Add(line[:len(line)/2])
	}
	for _, s := range []string{"", "\n\n", "{}\n", `{"type":"step"}`, `{"type":"event","event":{"kind":"x"}}` + "\n{", "null\n", "[1,2]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, cut, err := DecodeTimeline(bytes.NewReader(data))
		if err != nil {
			if recs != nil || cut != 0 {
				t.Fatalf("error %v with %d records, cut %d", err, len(recs), cut)
			}
			return
		}
		if cut < 0 || cut > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("cut at line %d of %d", cut, bytes.Count(data, []byte("\n"))+1)
		}
		var again bytes.Buffer
		for _, r := range recs {
			if err := decodeRecord(mustMarshal(t, r), new(Record)); err != nil {
				t.Fatalf("accepted a record that does not decode again: %+v: %v", r, err)
			}
			again.Write(mustMarshal(t, r))
			again.WriteByte('\n')
		}
		back, cut2, err := DecodeTimeline(&again)
		if err != nil || cut2 != 0 || len(back) != len(recs) {
			t.Fatalf("re-reading %d records: %d, cut %d, %v", len(recs), len(back), cut2, err)
		}
	})
}

func mustMarshal(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
