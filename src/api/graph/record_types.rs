//! Record types as the Graph audit search names them (`auditLogRecordType`, camelCase), and
//! the mapping from the Management Activity API's `RecordType` numbers.
//!
//! The list is the enumeration of Microsoft's Graph reference (v1.0, `recordTypeFilters`,
//! `unknownFutureValue` left out). A name outside it would make the service refuse the query,
//! so `--record-type` is checked against it before anything is sent.

use crate::record::classify::record_type_name;

/// Every `auditLogRecordType` member the Graph reference lists.
pub const GRAPH_RECORD_TYPES: &[&str] = &[
    "exchangeAdmin",
    "exchangeItem",
    "exchangeItemGroup",
    "sharePoint",
    "syntheticProbe",
    "sharePointFileOperation",
    "oneDrive",
    "azureActiveDirectory",
    "azureActiveDirectoryAccountLogon",
    "dataCenterSecurityCmdlet",
    "complianceDLPSharePoint",
    "sway",
    "complianceDLPExchange",
    "sharePointSharingOperation",
    "azureActiveDirectoryStsLogon",
    "skypeForBusinessPSTNUsage",
    "skypeForBusinessUsersBlocked",
    "securityComplianceCenterEOPCmdlet",
    "exchangeAggregatedOperation",
    "powerBIAudit",
    "crm",
    "yammer",
    "skypeForBusinessCmdlets",
    "discovery",
    "microsoftTeams",
    "threatIntelligence",
    "mailSubmission",
    "microsoftFlow",
    "aeD",
    "microsoftStream",
    "complianceDLPSharePointClassification",
    "threatFinder",
    "project",
    "sharePointListOperation",
    "sharePointCommentOperation",
    "dataGovernance",
    "kaizala",
    "securityComplianceAlerts",
    "threatIntelligenceUrl",
    "securityComplianceInsights",
    "mipLabel",
    "workplaceAnalytics",
    "powerAppsApp",
    "powerAppsPlan",
    "threatIntelligenceAtpContent",
    "labelContentExplorer",
    "teamsHealthcare",
    "exchangeItemAggregated",
    "hygieneEvent",
    "dataInsightsRestApiAudit",
    "informationBarrierPolicyApplication",
    "sharePointListItemOperation",
    "sharePointContentTypeOperation",
    "sharePointFieldOperation",
    "microsoftTeamsAdmin",
    "hrSignal",
    "microsoftTeamsDevice",
    "microsoftTeamsAnalytics",
    "informationWorkerProtection",
    "campaign",
    "dlpEndpoint",
    "airInvestigation",
    "quarantine",
    "microsoftForms",
    "applicationAudit",
    "complianceSupervisionExchange",
    "customerKeyServiceEncryption",
    "officeNative",
    "mipAutoLabelSharePointItem",
    "mipAutoLabelSharePointPolicyLocation",
    "microsoftTeamsShifts",
    "secureScore",
    "mipAutoLabelExchangeItem",
    "cortanaBriefing",
    "search",
    "wdatpAlerts",
    "powerPlatformAdminDlp",
    "powerPlatformAdminEnvironment",
    "mdatpAudit",
    "sensitivityLabelPolicyMatch",
    "sensitivityLabelAction",
    "sensitivityLabeledFileAction",
    "attackSim",
    "airManualInvestigation",
    "securityComplianceRBAC",
    "userTraining",
    "airAdminActionInvestigation",
    "mstic",
    "physicalBadgingSignal",
    "teamsEasyApprovals",
    "aipDiscover",
    "aipSensitivityLabelAction",
    "aipProtectionAction",
    "aipFileDeleted",
    "aipHeartBeat",
    "mcasAlerts",
    "onPremisesFileShareScannerDlp",
    "onPremisesSharePointScannerDlp",
    "exchangeSearch",
    "sharePointSearch",
    "privacyDataMinimization",
    "labelAnalyticsAggregate",
    "myAnalyticsSettings",
    "securityComplianceUserChange",
    "complianceDLPExchangeClassification",
    "complianceDLPEndpoint",
    "mipExactDataMatch",
    "msdeResponseActions",
    "msdeGeneralSettings",
    "msdeIndicatorsSettings",
    "ms365DCustomDetection",
    "msdeRolesSettings",
    "mapgAlerts",
    "mapgPolicy",
    "mapgRemediation",
    "privacyRemediationAction",
    "privacyDigestEmail",
    "mipAutoLabelSimulationProgress",
    "mipAutoLabelSimulationCompletion",
    "mipAutoLabelProgressFeedback",
    "dlpSensitiveInformationType",
    "mipAutoLabelSimulationStatistics",
    "largeContentMetadata",
    "microsoft365Group",
    "cdpMlInferencingResult",
    "filteringMailMetadata",
    "cdpClassificationMailItem",
    "cdpClassificationDocument",
    "officeScriptsRunAction",
    "filteringPostMailDeliveryAction",
    "cdpUnifiedFeedback",
    "tenantAllowBlockList",
    "consumptionResource",
    "healthcareSignal",
    "dlpImportResult",
    "cdpCompliancePolicyExecution",
    "multiStageDisposition",
    "privacyDataMatch",
    "filteringDocMetadata",
    "filteringEmailFeatures",
    "powerBIDlp",
    "filteringUrlInfo",
    "filteringAttachmentInfo",
    "coreReportingSettings",
    "complianceConnector",
    "powerPlatformLockboxResourceAccessRequest",
    "powerPlatformLockboxResourceCommand",
    "cdpPredictiveCodingLabel",
    "cdpCompliancePolicyUserFeedback",
    "webpageActivityEndpoint",
    "omePortal",
    "cmImprovementActionChange",
    "filteringUrlClick",
    "mipLabelAnalyticsAuditRecord",
    "filteringEntityEvent",
    "filteringRuleHits",
    "filteringMailSubmission",
    "labelExplorer",
    "microsoftManagedServicePlatform",
    "powerPlatformServiceActivity",
    "scorePlatformGenericAuditRecord",
    "filteringTimeTravelDocMetadata",
    "alert",
    "alertStatus",
    "alertIncident",
    "incidentStatus",
    "case",
    "caseInvestigation",
    "recordsManagement",
    "privacyRemediation",
    "dataShareOperation",
    "cdpDlpSensitive",
    "ehrConnector",
    "filteringMailGradingResult",
    "publicFolder",
    "privacyTenantAuditHistoryRecord",
    "aipScannerDiscoverEvent",
    "eduDataLakeDownloadOperation",
    "m365ComplianceConnector",
    "microsoftGraphDataConnectOperation",
    "microsoftPurview",
    "filteringEmailContentFeatures",
    "powerPagesSite",
    "powerAppsResource",
    "plannerPlan",
    "plannerCopyPlan",
    "plannerTask",
    "plannerRoster",
    "plannerPlanList",
    "plannerTaskList",
    "plannerTenantSettings",
    "projectForTheWebProject",
    "projectForTheWebTask",
    "projectForTheWebRoadmap",
    "projectForTheWebRoadmapItem",
    "projectForTheWebProjectSettings",
    "projectForTheWebRoadmapSettings",
    "quarantineMetadata",
    "microsoftTodoAudit",
    "timeTravelFilteringDocMetadata",
    "teamsQuarantineMetadata",
    "sharePointAppPermissionOperation",
    "microsoftTeamsSensitivityLabelAction",
    "filteringTeamsMetadata",
    "filteringTeamsUrlInfo",
    "filteringTeamsPostDeliveryAction",
    "mdcAssessments",
    "mdcRegulatoryComplianceStandards",
    "mdcRegulatoryComplianceControls",
    "mdcRegulatoryComplianceAssessments",
    "mdcSecurityConnectors",
    "mdaDataSecuritySignal",
    "vivaGoals",
    "filteringRuntimeInfo",
    "attackSimAdmin",
    "microsoftGraphDataConnectConsent",
    "filteringAtpDetonationInfo",
    "privacyPortal",
    "managedTenants",
    "unifiedSimulationMatchedItem",
    "unifiedSimulationSummary",
    "updateQuarantineMetadata",
    "ms365DSuppressionRule",
    "purviewDataMapOperation",
    "filteringUrlPostClickAction",
    "irmUserDefinedDetectionSignal",
    "teamsUpdates",
    "plannerRosterSensitivityLabel",
    "ms365DIncident",
    "filteringDelistingMetadata",
    "complianceDLPSharePointClassificationExtended",
    "microsoftDefenderForIdentityAudit",
    "supervisoryReviewDayXInsight",
    "defenderExpertsforXDRAdmin",
    "cdpEdgeBlockedMessage",
    "hostedRpa",
    "cdpContentExplorerAggregateRecord",
    "cdpHygieneAttachmentInfo",
    "cdpHygieneSummary",
    "cdpPostMailDeliveryAction",
    "cdpEmailFeatures",
    "cdpHygieneUrlInfo",
    "cdpUrlClick",
    "cdpPackageManagerHygieneEvent",
    "filteringDocScan",
    "timeTravelFilteringDocScan",
    "mapgOnboard",
];

/// Management API names whose Graph spelling is not the mechanical camelCase of the name.
const SPELLING: &[(&str, &str)] = &[
    ("ProjectForThewebProject", "projectForTheWebProject"),
    ("ProjectForThewebTask", "projectForTheWebTask"),
    ("ProjectForThewebRoadmap", "projectForTheWebRoadmap"),
    ("ProjectForThewebRoadmapItem", "projectForTheWebRoadmapItem"),
    (
        "ProjectForThewebProjectSettings",
        "projectForTheWebProjectSettings",
    ),
    (
        "ProjectForThewebRoadmapSettings",
        "projectForTheWebRoadmapSettings",
    ),
];

/// The Graph name of a record type given as a `RecordType` number (`21`) or as a name in
/// either spelling (`CRM`, `crm`).
pub fn graph_record_type(input: &str) -> Result<&'static str, String> {
    let input = input.trim();
    let name: String = match input.parse::<i64>() {
        Ok(n) => {
            let mgmt =
                record_type_name(n).ok_or_else(|| format!("record type {n} has no known name"))?;
            SPELLING
                .iter()
                .find(|(m, _)| *m == mgmt)
                .map(|(_, g)| g.to_string())
                .unwrap_or_else(|| camel(mgmt))
        }
        Err(_) => input.to_string(),
    };
    GRAPH_RECORD_TYPES
        .iter()
        .find(|g| g.eq_ignore_ascii_case(&name))
        .copied()
        .ok_or_else(|| {
            format!(
                "record type {input} ({name}) is not one the Graph audit search filters on; leave --record-type out or name another"
            )
        })
}

/// `auditLogRecordType` of a `RecordType` number, when Graph has one (the simulator).
pub fn graph_name_of(n: i64) -> Option<&'static str> {
    graph_record_type(&n.to_string()).ok()
}

/// Graph's camelCase of a Management API name: a leading acronym is lowered whole, except
/// its last capital when a word follows (`MIPLabel` → `mipLabel`, `CRM` → `crm`).
fn camel(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let run = chars.iter().take_while(|c| c.is_ascii_uppercase()).count();
    let lower = match chars.get(run) {
        Some(c) if c.is_ascii_lowercase() && run > 1 => run - 1,
        Some(c) if c.is_ascii_lowercase() => 1,
        _ => run,
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < lower {
                c.to_ascii_lowercase()
            } else {
                *c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
