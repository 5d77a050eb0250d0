package procfs

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseTCP(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    []TCPSocket
		wantErr bool
	}{
		// A listener on 127.0.0.1:9999 with one connection accepted (7
		// bytes unread) and one waiting in its accept queue, made in a
		// network namespace of its own.
		{name: "IPv4: listener, accepted, queued", in: fixture(t, "tcp"), want: []TCPSocket{
			{LocalPort: 9999, State: TCPListen, RxQueue: 1, Inode: "23182435"},
			{LocalPort: 9999, RemotePort: 45038, State: TCPEstablished, RxQueue: 7, Inode: "23182437"},
			{LocalPort: 45038, RemotePort: 9999, State: TCPEstablished, Inode: "23182436"},
			{LocalPort: 45046, RemotePort: 9999, State: TCPEstablished, Inode: "23182438"},
			{LocalPort: 9999, RemotePort: 45046, State: TCPEstablished, Inode: "0"},
		}},
		{name: "IPv6 listener", in: fixture(t, "tcp6"), want: []TCPSocket{{LocalPort: 8080, State: TCPListen, Inode: "23182439"}}},
		{name: "header only", in: []byte("  sl  local_address rem_address   st tx_queue rx_queue\n")},
		{name: "cut short", in: []byte("header\n   0: 0100007F:270F 00000000:0000 0A 00000000:00000001\n"), wantErr: true},
		{name: "no port", in: []byte("header\n   0: 0100007F 00000000:0000 0A 00000000:00000001 00:00000000 00000000 0 0 1\n"), wantErr: true},
		{name: "no queues", in: []byte("header\n   0: 0100007F:270F 00000000:0000 0A 00000000 00:00000000 00000000 0 0 1\n"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []TCPSocket
			err := ParseTCP(bytes.NewReader(tt.in), func(s TCPSocket) { got = append(got, s) })
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadTCPTables(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tcp"), fixture(t, "tcp"), 0o644); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := ReadTCPTables(dir, func(TCPSocket) { n++ }); err != nil || n != 5 {
		t.Errorf("without tcp6: %d sockets, %v; want 5, no error", n, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tcp6"), fixture(t, "tcp6"), 0o644); err != nil {
		t.Fatal(err)
	}
	n = 0
	if err := ReadTCPTables(dir, func(TCPSocket) { n++ }); err != nil || n != 6 {
		t.Errorf("with tcp6: %d sockets, %v; want 6, no error", n, err)
	}
	if err := ReadTCPTables(filepath.Join(dir, "absent"), func(TCPSocket) {}); err == nil {
		t.Error("no tcp table: no error")
	}
}

func TestSocketInode(t *testing.T) {
	tests := []struct {
		link, want string
		ok         bool
	}{
		{"socket:[23182435]", "23182435", true},
		{"pipe:[1234]", "", false},
		{"/dev/null", "", false},
		{"socket:[1234", "", false},
	}
	for _, tt := range tests {
		if got, ok := SocketInode(tt.link); got != tt.want || ok != tt.ok {
			t.Errorf("SocketInode(%q) = %q, %v; want %q, %v", tt.link, got, ok, tt.want, tt.ok)
		}
	}
}
