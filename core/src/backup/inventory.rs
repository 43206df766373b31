//! What a backup region holds, read back by a driver that lost its schedule's saved state
//! (a replaced replica): the input of [`ScheduleState::adopt`](crate::backup::ScheduleState::adopt).

use crate::backup::manifest::{MANIFEST_NAME, Manifest, ManifestEntry};
use crate::backup::object::{self, BackupKey};

/// The objects of one region, described as manifest entries: those its manifest lists and
/// that are present (checked by name only: a damaged one is still there, to be deleted at
/// expiry, and a restore will refuse it), and those present that the manifest does not list
/// but that open under `key` (uploaded just before the previous replica stopped, while its
/// manifest update was still to come). Anything else is not ours and is left alone.
///
/// `names` lists the region's objects; `fetch` reads one.
pub fn inventory(
    key: &BackupKey,
    names: &[String],
    fetch: impl Fn(&str) -> Option<Vec<u8>>,
) -> Vec<ManifestEntry> {
    let manifest = names
        .iter()
        .any(|n| n == MANIFEST_NAME)
        .then(|| fetch(MANIFEST_NAME))
        .flatten()
        .and_then(|bytes| Manifest::open(key, &bytes).ok())
        .unwrap_or_default();
    let mut held: Vec<ManifestEntry> = manifest
        .entries
        .iter()
        .filter(|e| names.contains(&e.name))
        .cloned()
        .collect();
    for name in names {
        if name == MANIFEST_NAME || manifest.get(name).is_some() {
            continue;
        }
        let Some(bytes) = fetch(name) else { continue };
        if let Ok((header, _)) = object::open(key, &bytes)
            && header.name() == *name
        {
            held.push(ManifestEntry::describe(name.clone(), header, &bytes));
        }
    }
    held.sort_by_key(|e| (e.header.generation, e.header.seq));
    held
}
