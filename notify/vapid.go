package notify

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// VAPIDKeys is the application server's P-256 key pair (RFC 8292),
// base64url without padding: the public key as the 65-byte uncompressed
// point (what the browser's pushManager.subscribe takes as
// applicationServerKey), the private key as the 32-byte scalar.
type VAPIDKeys struct {
	Public  string `json:"public_key"`
	Private string `json:"private_key"`
}

// GenerateVAPID makes a new key pair.
func GenerateVAPID() (VAPIDKeys, error) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return VAPIDKeys{}, fmt.Errorf("notify: generate VAPID key: %w", err)
	}
	return VAPIDKeys{
		Public:  base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
		Private: base64.RawURLEncoding.EncodeToString(k.Bytes()),
	}, nil
}

// Check verifies that the keys decode and belong together.
func (k VAPIDKeys) Check() error {
	priv, err := base64.RawURLEncoding.DecodeString(k.Private)
	if err != nil {
		return fmt.Errorf("notify: VAPID private key: %w", err)
	}
	key, err := ecdh.P256().NewPrivateKey(priv)
	if err != nil {
		return fmt.Errorf("notify: VAPID private key: %w", err)
	}
	pub, err := base64.RawURLEncoding.DecodeString(k.Public)
	if err != nil {
		return fmt.Errorf("notify: VAPID public key: %w", err)
	}
	if !bytes.Equal(key.PublicKey().Bytes(), pub) {
		return errors.New("notify: VAPID public key does not belong to the private key")
	}
	return nil
}

// LoadOrCreateVAPID reads the key pair from path (JSON, mode 0600), or
// generates one and stores it there when the file does not exist. Two
// processes starting at once end up with the same keys: the file is
// written aside and linked into place, and the loser reads the winner's.
// A file that others may read is refused: the private key signs for the
// whole server.
func LoadOrCreateVAPID(path string) (VAPIDKeys, error) {
	keys, err := loadVAPID(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return keys, err
	}
	keys, err = GenerateVAPID()
	if err != nil {
		return VAPIDKeys{}, err
	}
	data, _ := json.MarshalIndent(keys, "", "  ")
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vapid-*")
	if err != nil {
		return VAPIDKeys{}, fmt.Errorf("notify: store VAPID keys: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return VAPIDKeys{}, fmt.Errorf("notify: store VAPID keys: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return VAPIDKeys{}, fmt.Errorf("notify: store VAPID keys: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return VAPIDKeys{}, fmt.Errorf("notify: store VAPID keys: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return VAPIDKeys{}, fmt.Errorf("notify: store VAPID keys: %w", err)
	}
	// Link fails if another process stored its keys first; use those.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadVAPID(path)
		}
		return VAPIDKeys{}, fmt.Errorf("notify: store VAPID keys: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // the new name survives a crash
		d.Close()
	}
	return keys, nil
}

func loadVAPID(path string) (VAPIDKeys, error) {
	f, err := os.Open(path)
	if err != nil {
		return VAPIDKeys{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return VAPIDKeys{}, fmt.Errorf("notify: VAPID key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return VAPIDKeys{}, fmt.Errorf("notify: VAPID key file %s is accessible by others (mode %04o); chmod 600 it", path, st.Mode().Perm())
	}
	var keys VAPIDKeys
	if err := json.NewDecoder(f).Decode(&keys); err != nil {
		return VAPIDKeys{}, fmt.Errorf("notify: VAPID key file %s: %w", path, err)
	}
	if err := keys.Check(); err != nil {
		return VAPIDKeys{}, fmt.Errorf("notify: VAPID key file %s: %w", path, err)
	}
	return keys, nil
}
