// SPDX-License-Identifier: GPL-2.0

//! The resource types of the controller, in the order of C's `enum rdmacg_resource_type`
//! (`include/linux/cgroup_rdma.h`).

/// Number of resource types.
pub(crate) const NR_RESOURCES: usize = 14;

/// A resource the controller counts, per cgroup and device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Resource {
    /// User contexts (`ibv_open_device`), as upstream.
    HcaHandle = 0,
    /// Every verbs object created through uverbs, as upstream.
    HcaObject,
    /// Protection domains.
    Pd,
    /// Completion queues.
    Cq,
    /// Queue pairs.
    Qp,
    /// Shared receive queues.
    Srq,
    /// Memory regions.
    Mr,
    /// Memory windows.
    Mw,
    /// Address handles.
    Ah,
    /// XRC domains.
    Xrcd,
    /// Work queues.
    Wq,
    /// Flow steering rules.
    Flow,
    /// rdma_cm identifiers.
    CmId,
    /// Bytes of user memory registered in MRs.
    MrBytes,
}

/// The keys of the resources, in order (a table: the uncharge path names its resource).
const NAMES: [&str; NR_RESOURCES] = [
    "hca_handle",
    "hca_object",
    "pd",
    "cq",
    "qp",
    "srq",
    "mr",
    "mw",
    "ah",
    "xrcd",
    "wq",
    "flow",
    "cm_id",
    "mr_bytes",
];

impl Resource {
    /// All resources, in order.
    pub(crate) const ALL: [Resource; NR_RESOURCES] = [
        Resource::HcaHandle,
        Resource::HcaObject,
        Resource::Pd,
        Resource::Cq,
        Resource::Qp,
        Resource::Srq,
        Resource::Mr,
        Resource::Mw,
        Resource::Ah,
        Resource::Xrcd,
        Resource::Wq,
        Resource::Flow,
        Resource::CmId,
        Resource::MrBytes,
    ];

    /// The key used in the cgroupfs files.
    pub(crate) const fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    /// Looks a resource up by its key.
    pub(crate) fn from_name(key: &[u8]) -> Option<Resource> {
        Self::ALL.into_iter().find(|r| r.name().as_bytes() == key)
    }

    /// The resource with C index `i`, if any.
    pub(crate) fn from_index(i: u32) -> Option<Resource> {
        Self::ALL.get(usize::try_from(i).ok()?).copied()
    }
}
