"""Azure rules, over the storage account and VM configuration of `providers/azure_records.py`.

ARM types are case-insensitive; the engine matches native types without regard to case.
"""

from __future__ import annotations

from typing import Any

from db.enums import Provider, Severity
from sync.findings.rules.base import Check, Compliance, Details, Rule, Subject, setting

CIS = "CIS Azure Foundations 2.1"
STORAGE = "Microsoft.Storage/storageAccounts"
VM = "Microsoft.Compute/virtualMachines"
OLD_TLS = ("TLS1_0", "TLS1_1")
STORAGE_DOC = "https://learn.microsoft.com/azure/storage/common/storage-network-security"


def _cis(*controls: str) -> tuple[Compliance, ...]:
    return tuple(Compliance(CIS, control) for control in controls)


def _is(key: str, bad: object) -> Check:
    def check(subject: Subject) -> Details | None:
        value = setting(subject.configuration, key)
        return {key: value} if value == bad else None

    return check


def _not_on(key: str) -> Check:
    def check(subject: Subject) -> Details | None:
        value = setting(subject.configuration, key)
        return None if value is True else {key: value}

    return check


def _old_tls(subject: Subject) -> Details | None:
    version = setting(subject.configuration, "minimumTlsVersion")
    return {"minimumTlsVersion": version} if version in OLD_TLS else None


def _open_network(subject: Subject) -> Details | None:
    config = subject.configuration
    action = setting(config, "networkDefaultAction")
    if setting(config, "publicNetworkAccess") == "Disabled" or action != "Allow":
        return None
    return {"networkDefaultAction": action}


def _platform_keys(subject: Subject) -> Details | None:
    source = setting(subject.configuration, "encryptionKeySource")
    return {"encryptionKeySource": source} if source == "Microsoft.Storage" else None


def _rule(**fields: Any) -> Rule:
    return Rule(provider=Provider.AZURE, **fields)


RULES: tuple[Rule, ...] = (
    _rule(
        id="azure-storage-public-blob-access",
        title="Storage account allows public blob access",
        severity=Severity.HIGH,
        native_types=(STORAGE,),
        check=_is("allowBlobPublicAccess", True),
        description="Containers of the account may be made readable anonymously.",
        remediation="Set allowBlobPublicAccess to false on the account.",
        references=(
            "https://learn.microsoft.com/azure/storage/blobs/anonymous-read-access-prevent",
        ),
        compliance=_cis("3.7"),
    ),
    _rule(
        id="azure-storage-old-tls",
        title="Storage account accepts TLS older than 1.2",
        severity=Severity.MEDIUM,
        native_types=(STORAGE,),
        check=_old_tls,
        description="The account's minimum TLS version is 1.0 or 1.1.",
        remediation="Set minimumTlsVersion to TLS1_2.",
        references=(
            "https://learn.microsoft.com/azure/storage/common/transport-layer-security-configure-minimum-version",
        ),
        compliance=_cis("3.15"),
    ),
    _rule(
        id="azure-storage-http-allowed",
        title="Storage account accepts plain HTTP",
        severity=Severity.MEDIUM,
        native_types=(STORAGE,),
        check=_is("httpsOnly", False),
        description="Secure transfer is not required: requests over HTTP are served.",
        remediation="Turn on supportsHttpsTrafficOnly (secure transfer required).",
        references=(
            "https://learn.microsoft.com/azure/storage/common/storage-require-secure-transfer",
        ),
        compliance=_cis("3.1"),
    ),
    _rule(
        id="azure-storage-network-open",
        title="Storage account network access is open",
        severity=Severity.MEDIUM,
        native_types=(STORAGE,),
        check=_open_network,
        description="Public network access is on and the firewall's default action is Allow.",
        remediation="Set the default action to Deny and allow the networks that need access.",
        references=(STORAGE_DOC,),
        compliance=_cis("3.8"),
    ),
    _rule(
        id="azure-storage-shared-key-allowed",
        title="Storage account allows shared key access",
        severity=Severity.LOW,
        native_types=(STORAGE,),
        check=_is("allowSharedKeyAccess", True),
        description="Requests signed with the account keys are accepted, bypassing Entra ID.",
        remediation="Set allowSharedKeyAccess to false once clients use Entra ID.",
        references=(
            "https://learn.microsoft.com/azure/storage/common/shared-key-authorization-prevent",
        ),
        compliance=_cis("3.3"),
    ),
    _rule(
        id="azure-storage-platform-keys",
        title="Storage account is encrypted with platform keys",
        severity=Severity.INFO,
        native_types=(STORAGE,),
        check=_platform_keys,
        description="Data is encrypted with Microsoft-managed keys, not a customer-managed key.",
        remediation="Configure a customer-managed key in Key Vault where policy requires it.",
        references=(
            "https://learn.microsoft.com/azure/storage/common/customer-managed-keys-overview",
        ),
        compliance=_cis("3.12"),
    ),
    _rule(
        id="azure-vm-no-encryption-at-host",
        title="VM does not encrypt at host",
        severity=Severity.LOW,
        native_types=(VM,),
        check=_not_on("encryptionAtHost"),
        description="Temporary disks and disk caches of the VM are not encrypted at the host.",
        remediation="Enable encryption at host on the VM (deallocate it first).",
        references=("https://learn.microsoft.com/azure/virtual-machines/disk-encryption",),
    ),
    _rule(
        id="azure-vm-secure-boot-off",
        title="VM runs without Secure Boot",
        severity=Severity.LOW,
        native_types=(VM,),
        check=_is("secureBoot", False),
        description="The VM's UEFI Secure Boot is off: boot-level malware is not blocked.",
        remediation="Use Trusted Launch with Secure Boot on.",
        references=("https://learn.microsoft.com/azure/virtual-machines/trusted-launch",),
    ),
)
