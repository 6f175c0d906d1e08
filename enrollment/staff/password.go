package staff

import (
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
)

// Passwords are hashed with argon2id through github.com/alexedwards/argon2id,
// a small, well-kept wrapper of golang.org/x/crypto/argon2 that writes the
// standard encoded form ($argon2id$v=19$m=…,t=…,p=…$salt$key), so the
// parameters travel with each hash and can be raised later without
// invalidating old ones, and that compares keys in constant time. Calling
// x/crypto directly would mean writing that encoding and parsing ourselves.
//
// The parameters are OWASP's first recommendation for argon2id: 19 MiB of
// memory, 2 passes, 1 lane. They cost about 20–40 ms of one core per hash;
// the library's default (64 MiB, 2 lanes) would let twenty simultaneous
// sign-ins take 1.3 GB of a small server.
var hashParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// MinPasswordLength is the shortest password an account may have.
const MinPasswordLength = 10

// HashPassword returns the encoded argon2id hash of password.
func HashPassword(password string) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	h, err := argon2id.CreateHash(password, hashParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// CheckPassword returns an error unless password is long enough and
// short enough to hash (argon2 takes any length; 1,000 bytes is plenty and
// keeps a megabyte "password" from costing more than a real one).
func CheckPassword(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return fmt.Errorf("password: want at least %d characters", MinPasswordLength)
	}
	if len(password) > 1000 {
		return errors.New("password: want at most 1,000 bytes")
	}
	return nil
}

// matchPassword reports whether password is the one hash was made from. A
// hash that does not decode matches nothing.
func matchPassword(password, hash string) bool {
	if len(password) > 1000 {
		return false
	}
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	return err == nil && ok
}

// dummyHash is compared against when a sign-in names no account, so that
// the answer takes as long as for a wrong password and does not tell which
// usernames exist.
var dummyHash = sync.OnceValue(func() string {
	h, err := argon2id.CreateHash("not the password of any account", hashParams)
	if err != nil {
		panic(err) // only crypto/rand failing, which the runtime does not survive either
	}
	return h
})
