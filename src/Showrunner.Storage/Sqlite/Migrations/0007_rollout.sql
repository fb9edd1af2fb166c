-- Reserved for 0007_rollout (filled by the change that needs it).
SELECT 1;
