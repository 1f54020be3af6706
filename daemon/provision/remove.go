package provision

import (
	"errors"
	"io/fs"
	"path"

	"jukiterm/devices/media"
)

// Remove takes provision id off the volume: the manifest first (synced), so that from
// then on nothing of it verifies, then its signature and files, then the directory.
// It is used when the terminal could not record a provision it wrote, or could not
// read it back. A file already gone is no error.
func Remove(vol media.Volume, id string) error {
	dir := path.Join(MediaDir, id)
	rm := func(name string) error {
		if err := vol.Remove(path.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := rm(ManifestFile); err != nil {
		return err
	}
	if err := vol.SyncDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	ents, err := vol.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range ents {
		if err := rm(e.Name()); err != nil {
			return err
		}
	}
	if err := vol.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return vol.SyncDir(MediaDir)
}
