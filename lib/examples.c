/*
 * examples.c — the example records of examples.h, one per kind.
 *
 * Content follows 聊城市严格规范涉企行政检查工作实施方案 (聊政办发〔2025〕3号):
 * 年度检查计划备案 (四), 扫码入企 (八), two officers with certificates checked
 * through 爱山东 APP and a full-process recording (九), 限期改正 (十),
 * 分级分类 and the annual frequency cap (十二). The company, its code
 * 91371502MA0EXAMP1R (GB 32100 and GB 11714 check characters valid, 371502 =
 * 东昌府区), the people and the document numbers are invented. The node key is
 * derived from the seed SHA-256("evchain example key platform-node-2"); the
 * evidence digest is SHA-256 of "evchain example: LC-SCJG-2025-0001
 * full-process recording".
 */
#include <stddef.h>
#include <string.h>

#include "examples.h"

static const char ex_node_key[] =
	"{\"record_id\": \"LC-ADMIN-2025-0004\", \"node_key\": {\"action\": \"REGISTER\","
	" \"role\": \"NODE\", \"key_name\": \"platform-node-2\", \"public_key\": \"aef76aa8d664e8da0ba09869922c8e532450a5c8f45e50fae31beb19dff3b375\","
	" \"agency\": \"聊城市市场监督管理局\", \"valid_from_ms\": \"2025-04-28T00:00:00+08:00\","
	" \"valid_until_ms\": \"2027-04-27T23:59:59+08:00\", \"reason\": \"全省涉企行政检查平台聊城节点接入，经聊城市大数据局审核同意\","
	" \"verifier_key\": \"platform-node-2+1a3bc595+Aa73aqjWZOjaC6CYaZIsjlMkUKXI9F5Q+uMb6xnf87N1\"}}";

static const char ex_inspection_plan[] =
	"{\"record_id\": \"LC-SCJG-JH-2025-01-filing\", \"inspection_plan\": {\"plan_id\": \"LC-SCJG-JH-2025-01\","
	" \"agency\": \"聊城市市场监督管理局\", \"year\": 2025, \"plan_type\": \"ANNUAL\","
	" \"legal_basis\": \"《中华人民共和国产品质量法》《中华人民共和国计量法》《聊城市严格规范涉企行政检查工作实施方案》（聊政办发〔2025〕3号）\","
	" \"objectives\": \"规范涉企行政检查，压减合并对同一企业的检查，做到“无事不扰”\","
	" \"inspection_form\": \"“双随机、一公开”抽查与日常检查相结合，依单检查\","
	" \"scope\": \"东昌府区轴承制造企业\", \"content\": \"产品质量、产品标识、计量器具使用情况\","
	" \"schedule\": [{\"month\": 5, \"content\": \"轴承生产企业产品标识与质量抽查\"},"
	" {\"month\": 9, \"content\": \"计量器具使用情况检查\"}], \"filing\": {\"filed_with\": \"聊城市司法局\","
	" \"filing_no\": \"LCSF-JHBA-2025-017\", \"filed_ms\": \"2025-03-25T10:00:00+08:00\","
	" \"shared_with_discipline\": true, \"publication\": \"聊城市市场监督管理局门户网站，2025年3月28日公布\"},"
	" \"start_ms\": \"2025-04-01T00:00:00+08:00\", \"end_ms\": \"2025-12-31T23:59:59+08:00\","
	" \"checklist_id\": \"LC-SCJG-BD-2025-03\"}}";

static const char ex_scan_in[] =
	"{\"record_id\": \"LC-SCJG-2025-0001-scan-in\", \"scan_in\": {\"inspection_id\": \"LC-SCJG-2025-0001\","
	" \"agency\": \"聊城市市场监督管理局\", \"company_uscc\": \"91371502MA0EXAMP1R\","
	" \"company_name\": \"聊城示例轴承制造有限公司\", \"officers\": [{\"name\": \"张伟\","
	" \"certificate_no\": \"LC-ZF-250101\"}, {\"name\": \"李娜\", \"certificate_no\": \"LC-ZF-250102\"}],"
	" \"method\": \"LICENCE_QR_SCAN\", \"location\": {\"latitude\": 36.4567,"
	" \"longitude\": 115.9853, \"address\": \"山东省聊城市东昌府区示例路88号\","
	" \"accuracy_m\": 8.5}, \"device_ms\": \"2025-05-12T09:30:00+08:00\","
	" \"plan_id\": \"LC-SCJG-JH-2025-01\", \"kind\": \"RANDOM_DRAW\", \"sensitivity\": [\"DISPUTE_PRONE\"],"
	" \"entry_type\": \"ADMINISTRATIVE_INSPECTION\", \"checklist_id\": \"LC-SCJG-BD-2025-03\","
	" \"scheme_approved_by\": \"聊城市市场监督管理局主要负责人\","
	" \"random_draw_ref\": \"LC-SSJ-2025-05-003\"}}";

static const char ex_certificate_check[] =
	"{\"record_id\": \"LC-SCJG-2025-0001-cert-LC-ZF-250101\", \"certificate_check\": {\"inspection_id\": \"LC-SCJG-2025-0001\","
	" \"certificate_no\": \"LC-ZF-250101\", \"officer_name\": \"张伟\", \"verifier\": \"COMPANY_APP\","
	" \"result\": \"VALID\", \"verified_ms\": \"2025-05-12T09:32:00+08:00\","
	" \"verified_by\": \"企业负责人刘明（“爱山东”APP扫码核验）\","
	" \"company_uscc\": \"91371502MA0EXAMP1R\"}}";

static const char ex_evidence[] =
	"{\"record_id\": \"LC-SCJG-2025-0001-E01\", \"evidence\": {\"inspection_id\": \"LC-SCJG-2025-0001\","
	" \"evidence_id\": \"LC-SCJG-2025-0001-E01\", \"media_kind\": \"FULL_PROCESS_RECORDING\","
	" \"sha256\": \"ffdd43c164a1466aaa06ecaa36f24daf1b02f3b344a3d565f352a06fc41ffd4e\","
	" \"size\": 734003200, \"capture_start_ms\": \"2025-05-12T09:30:00+08:00\","
	" \"capture_end_ms\": \"2025-05-12T10:45:00+08:00\", \"place\": {\"latitude\": 36.4567,"
	" \"longitude\": 115.9853, \"address\": \"山东省聊城市东昌府区示例路88号 成品仓库\"},"
	" \"recorder\": {\"name\": \"李娜\", \"certificate_no\": \"LC-ZF-250102\"},"
	" \"proves\": \"检查全过程音像记录：成品仓库内3批次深沟球轴承外包装未标注生产厂厂名和厂址，企业负责人刘明在场确认\","
	" \"file_name\": \"LC-SCJG-2025-0001-全过程记录.mp4\", \"media_type\": \"video/mp4\","
	" \"company_uscc\": \"91371502MA0EXAMP1R\"}}";

static const char ex_disposition[] =
	"{\"record_id\": \"LC-SCJG-2025-0001-disposition\", \"disposition\": {\"inspection_id\": \"LC-SCJG-2025-0001\","
	" \"outcome\": \"CORRECT_BY_DEADLINE\", \"deadline_ms\": \"2025-05-26T17:00:00+08:00\","
	" \"legal_basis\": \"《中华人民共和国产品质量法》第二十七条；《中华人民共和国行政处罚法》第二十八条第一款\","
	" \"decided_by\": \"聊城市市场监督管理局执法人员张伟、李娜\","
	" \"decided_ms\": \"2025-05-12T10:40:00+08:00\", \"findings\": \"成品仓库3批次深沟球轴承外包装未标注生产厂厂名和厂址，责令于2025年5月26日前改正并书面报告整改情况\","
	" \"ended_ms\": \"2025-05-12T10:45:00+08:00\", \"company_uscc\": \"91371502MA0EXAMP1R\","
	" \"agency\": \"聊城市市场监督管理局\"}}";

static const char ex_company_feedback[] =
	"{\"record_id\": \"LC-SCJG-2025-0001-feedback\", \"company_feedback\": {\"company_uscc\": \"91371502MA0EXAMP1R\","
	" \"inspection_id\": \"LC-SCJG-2025-0001\", \"feedback_type\": \"RATING\","
	" \"rating\": 5, \"channel\": \"AISHANDONG_APP\", \"text\": \"执法人员先扫码后入企，主动出示电子执法证件，依单检查，整改指导耐心细致。\","
	" \"submitted_ms\": \"2025-05-13T15:20:00+08:00\", \"agency\": \"聊城市市场监督管理局\"}}";

static const char ex_frequency_cap[] =
	"{\"record_id\": \"LC-SCJG-PC-2025-A\", \"frequency_cap\": {\"agency\": \"聊城市市场监督管理局\","
	" \"risk_grade\": \"A\", \"max_per_year\": 1, \"year\": 2025, \"legal_basis\": \"《聊城市严格规范涉企行政检查工作实施方案》（聊政办发〔2025〕3号）第（十二）项：公布对同一企业实施行政检查的年度频次上限\","
	" \"publication\": \"聊城市市场监督管理局门户网站“分级分类监管”专栏\"}}";

static const char ex_risk_grade[] =
	"{\"record_id\": \"LC-SCJG-FJ-2025-91371502MA0EXAMP1R\", \"risk_grade\": {\"company_uscc\": \"91371502MA0EXAMP1R\","
	" \"agency\": \"聊城市市场监督管理局\", \"risk_grade\": \"A\","
	" \"year\": 2025, \"basis\": \"综合考虑法律法规规定、监管目的、信用情况、监管对象特点等因素：信用良好，近三年无行政处罚，评定为低风险\"}}";

static const char *const kinds[] = {
	"node_key", "inspection_plan", "scan_in", "certificate_check", "evidence",
	"disposition", "company_feedback", "frequency_cap", "risk_grade",
};

static const char *const texts[] = {
	ex_node_key, ex_inspection_plan, ex_scan_in, ex_certificate_check, ex_evidence,
	ex_disposition, ex_company_feedback, ex_frequency_cap, ex_risk_grade,
};

_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == sizeof(texts) / sizeof(texts[0]),
    "one text per kind");

const char *
example_record_json(const char *kind)
{
	if (kind == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return texts[i];
	return NULL;
}

const char *const *
example_kinds(size_t *n)
{
	if (n != NULL)
		*n = sizeof(kinds) / sizeof(kinds[0]);
	return kinds;
}
