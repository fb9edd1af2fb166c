-- Reserved for 0006_audit (filled by the change that needs it).
SELECT 1;
